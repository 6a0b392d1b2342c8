"""How personal values look when MASKED: enough to recognise, not enough to use."""

from __future__ import annotations


def mask_name(name: str) -> str:
    """张*丰 for 3 characters, 张* for 2, 欧**娜 for 4: first and last kept."""
    name = name.strip()
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str) -> str:
    """138****1234."""
    digits = phone.strip()
    if len(digits) < 8:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_id_card(number: str) -> str:
    """5****************X: first digit and last character of the 18."""
    number = number.strip()
    if len(number) < 2:
        return "*" * len(number)
    return number[0] + "*" * (len(number) - 2) + number[-1]


def mask_room(room: str) -> str:
    """The floor stays visible (for service planning), the door does not: 3** for 302."""
    room = room.strip()
    if len(room) <= 1:
        return "*"
    return room[0] + "*" * (len(room) - 1)
