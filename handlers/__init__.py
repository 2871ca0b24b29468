"""One router per feature, built fresh for each dispatcher, in one folder per audience: ``worker/`` (a member's
own path), ``team/`` (the support team), ``officer/`` (officers and administrators); ``ui/`` holds the keyboards
and callback data they show, ``delivery`` what the outbox sends.

The form's answers and buttons are routed first: they are most of the traffic, and their filters (a state,
a callback prefix, no leading "/") let commands and other states fall through to the routers after them."""

from aiogram import Router


def routers() -> list[Router]:
    from handlers import errors, help
    from handlers.officer import chart, digest, export, export_tld, invites, progress, setup, top
    from handlers.team import benefit, groups, proxy, reasons, recognition, recognition_bulk, reminders, review, team
    from handlers.worker import dossier, drafting, drafts, edits, history, linking, navigation, profile, start

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
        proxy,  # /for and the hand-over of a draft: the team writes for a member
        setup,  # private from here on: a bot administrator is told when no units are loaded yet
        dossier,  # /dossier (also typed in a support group); before help: its own /cancel ends the follow-up
        help,
        linking,  # before registration: a member of the other app links this one instead of registering
        start,
        profile,
        history,
        recognition_bulk,  # /recognise with a file, /uploaded: in a private chat or a support group
        recognition,
        benefit,  # /giatri: the support team's own figure for the money benefit
        progress,
        chart,
        export_tld,  # /export tld: before /export
        export,
        top,
        invites,
        digest,
        drafts,  # last: it also answers unknown commands and stale buttons
    )
    return [module.create_router() for module in modules]
