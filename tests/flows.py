"""Reusable walks through the form, written as a worker would do them.

Labels and messages are looked up in the catalogs (``vi``), so that rewording a translation does not break a walk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.i18n import create_i18n
from tests.tgclient import TgUser

TITLE = "Tự động duy trì áp lực mạng cấp nước"
BEFORE = "Bơm chạy hết công suất cả đêm dù ít người dùng nước; ống hay bị vỡ."
SOLUTION = "Lắp cảm biến áp lực và biến tần để giữ áp lực ổn định; ban đêm bơm chạy chậm lại."
PLACE = "Trạm bơm số 2, Công ty CP Cấp nước Lạng Sơn"
SOCIAL = "Công nhân không phải trèo lên bể để vệ sinh."

EN = {
    "title": "Automatic pressure control",
    "before": "The pumps ran all night at full power.",
    "solution": "A pressure sensor drives an inverter at night.",
    "place": "Pumping station 2",
    "social": "Workers no longer climb into the tank to clean it.",
}

_I18N = create_i18n(Path(__file__).resolve().parent.parent / "locales", "vi")


def vi(msgid: str, **params: Any) -> str:
    """A message as the Vietnamese catalog says it now (placeholders filled when given)."""
    text = _I18N.gettext(msgid, locale="vi")
    return text.format(**params) if params else text


def tr(msgid: str, lang: str) -> str:
    return _I18N.gettext(msgid, locale=lang)


async def fill_to_preview(user: TgUser, *, money: str = "14 triệu/năm", lang: str = "vi") -> None:
    """From /new to the summary that offers Submit, answering the required steps (no money: the social benefit
    too): a long answer is one message, the type and the field are two taps on one keyboard."""
    vi_ = lang == "vi"
    await user.send("/new")
    await user.send(TITLE if vi_ else EN["title"])
    await user.click(tr("Technical solution", lang), expect=0)  # ticked in place
    await user.click(tr("Production and operation", lang))
    await user.send(BEFORE if vi_ else EN["before"])
    await user.send(SOLUTION if vi_ else EN["solution"])
    await user.send(PLACE if vi_ else EN["place"])
    await user.send("15/03/2022")
    await user.send(money if vi_ or money != "14 triệu/năm" else "14 million/year")
    if money.strip() in ("0", "không có", "none"):
        await user.send(SOCIAL if vi_ else EN["social"])


def shown_money(app: Any, typed: str, lang: str = "vi") -> str:
    """How the bot shows an amount back, in the worker's language (whatever the money format of the day)."""
    from forms.money import parse_money
    from forms.render import money_text

    i18n = app.dp["i18n"]
    with i18n.use_locale(lang):
        return money_text(parse_money(typed), i18n.gettext, lang)
