"""Babel gettext catalogs, compiled from ``locales/*/LC_MESSAGES/messages.po`` in memory at start-up,
and the middleware that picks each update's language."""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject
from aiogram.utils.i18n import I18n, I18nMiddleware
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("vi", "en")


class PoI18n(I18n):
    """Reads the .po catalogs directly (Babel compiles them in memory), so no build step is needed."""

    @contextmanager
    def context(self) -> Iterator[I18n]:
        # aiogram's gettext() looks the instance up under I18n, not under a subclass
        token = I18n.set_current(self)
        try:
            yield self
        finally:
            I18n.reset_current(token)

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        translations: dict[str, gettext.GNUTranslations] = {}
        for po in sorted(Path(self.path).glob(f"*/LC_MESSAGES/{self.domain}.po")):
            translations[po.parent.parent.name] = gettext.GNUTranslations(BytesIO(_compiled(po)))
        return translations


_COMPILED: dict[tuple[str, int, int], bytes] = {}  # a catalog compiled once per process while its file is unchanged


def _compiled(po: Path) -> bytes:
    stat = po.stat()
    key = (str(po.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _COMPILED:
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=po.parent.parent.name)
        buffer = BytesIO()
        write_mo(buffer, catalog)
        _COMPILED[key] = buffer.getvalue()
    return _COMPILED[key]


def create_i18n(path: Path, default: str) -> PoI18n:
    return PoI18n(path=path, default_locale=default, domain="messages")


class LocaleMiddleware(I18nMiddleware):
    """The member's chosen language; before registering, the one picked so far (kept after /cancel), else the
    language of the person's Telegram app when we have it, else the default."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        member = data.get("member")
        if member is not None:
            return str(member.language)
        state = data.get("state")
        if state is not None:
            lang = (await state.get_data()).get("lang")
            if lang in self.i18n.available_locales:
                return str(lang)
        user = data.get("event_from_user")
        app_language = (getattr(user, "language_code", None) or "").split("-")[0].lower()
        return app_language if app_language in self.i18n.available_locales else self.i18n.default_locale
