"""One router per feature, built fresh for each dispatcher.

The form's answers and buttons are routed first: they are most of the traffic, and their filters (a state,
a callback prefix, no leading "/") let commands and other states fall through to the routers after them."""

from aiogram import Router


def routers() -> list[Router]:
    from handlers import (
        chart,
        digest,
        drafting,
        drafts,
        edits,
        errors,
        export,
        groups,
        help,
        history,
        invites,
        navigation,
        profile,
        progress,
        reasons,
        reminders,
        review,
        setup,
        start,
        team,
        top,
    )

    modules = (
        errors,
        drafting,  # the form's answers and buttons: most of the traffic, matched first
        navigation,
        edits,  # a correction made with Telegram's Edit: told that the answer as first sent stands
        review,  # group chats from here on
        reasons,
        groups,
        team,
        reminders,
        setup,  # private from here on: a bot administrator is told when no units are loaded yet
        help,
        start,
        profile,
        history,
        progress,
        chart,
        export,
        top,
        invites,
        digest,
        drafts,  # last: it also answers unknown commands and stale buttons
    )
    return [module.create_router() for module in modules]
