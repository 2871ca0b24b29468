"""Conversation states (kept in the FSM storage, so they survive a restart)."""

from aiogram.fsm.state import State, StatesGroup


class Reg(StatesGroup):
    language = State()
    name = State()
    unit = State()
    phone = State()


class Drafting(StatesGroup):
    filling = State()  # FSM data: {"draft": id}; the step itself is stored in the draft
