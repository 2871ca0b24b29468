"""One router per feature, built fresh for each dispatcher. Commands come before the form's answers."""

from aiogram import Router


def routers() -> list[Router]:
    from handlers import drafting, drafts, errors, help, navigation, profile, start

    modules = (errors, help, start, profile, drafts, navigation, drafting)
    return [module.create_router() for module in modules]
