"""Masks: enough to recognise a person, not enough to use the value (张*丰, 138****1234,
5****************X, 3**), over many generated values and the edge cases."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date

import pytest

from models.people import Gender
from permissions.masking import mask_id_card, mask_name, mask_phone, mask_room
from seeds import names

SEEDS = range(8)


def generated_names(seed: int, count: int = 400) -> list[str]:
    rng = random.Random(seed)
    return [names.person_name(rng, rng.choice(list(Gender))) for _ in range(count)]


def generated_id_cards(seed: int, count: int = 400) -> list[str]:
    rng = random.Random(seed)
    return [
        names.id_card(rng, names.birth_date(rng), rng.choice(list(Gender))) for _ in range(count)
    ]


# --- names ----------------------------------------------------------------------------------


def test_the_documented_examples() -> None:
    assert mask_name("张三丰") == "张*丰"
    assert mask_name("张伟") == "张*"
    assert mask_name("欧阳娜娜") == "欧**娜"
    assert mask_phone("13812341234") == "138****1234"
    assert mask_id_card("52030219850615123X") == "5****************X"
    assert mask_room("302") == "3**"


@pytest.mark.parametrize("seed", SEEDS)
def test_generated_names_keep_first_and_last_character_only(seed: int) -> None:
    lengths: Counter[int] = Counter()
    for name in generated_names(seed):
        masked = mask_name(name)
        lengths[len(name)] += 1
        assert len(masked) == len(name), name
        assert masked[0] == name[0], name
        if len(name) == 2:
            assert masked == name[0] + "*"
        else:
            assert masked == name[0] + "*" * (len(name) - 2) + name[-1]
            assert set(masked[1:-1]) == {"*"}
    assert {2, 3} <= set(lengths), lengths


def test_four_character_names_with_compound_surnames() -> None:
    four = [n for seed in SEEDS for n in generated_names(seed) if len(n) == 4]
    assert four, "the generator makes compound-surname names"
    for name in four:
        assert mask_name(name) == name[0] + "**" + name[-1]
        # the second character of a compound surname (欧阳 -> 阳) is hidden too
        assert name[1] not in mask_name(name)[1:3]


@pytest.mark.parametrize(
    ("name", "masked"),
    [("王", "*"), ("", "*"), ("  张三丰  ", "张*丰"), (" 李四", "李*")],
)
def test_name_edge_cases(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_a_one_character_name_reveals_nothing() -> None:
    assert "王" not in mask_name("王")


# --- phones ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_generated_phones(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(300):
        phone = names.mobile(rng)
        masked = mask_phone(phone)
        assert len(phone) == 11
        assert masked == phone[:3] + "****" + phone[-4:]


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("", ""),
        ("1", "*"),
        ("1234567", "*******"),  # too short to keep anything
        ("12345678", "123*5678"),
        (" 13812341234 ", "138****1234"),
    ],
)
def test_phone_edge_cases(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


# --- ID-card numbers ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_generated_id_cards(seed: int) -> None:
    numbers = generated_id_cards(seed)
    for number in numbers:
        assert names.is_valid_id_card(number), number
        masked = mask_id_card(number)
        assert masked == number[0] + "*" * 16 + number[-1], number
        assert len(masked) == 18
        # region, birth date and sequence are all hidden
        assert masked[1:17] == "*" * 16


def test_id_cards_ending_in_x_keep_the_x() -> None:
    with_x = [n for seed in SEEDS for n in generated_id_cards(seed) if n.endswith("X")]
    assert len(with_x) >= 20, "about one number in eleven ends in X"
    for number in with_x:
        assert mask_id_card(number) == number[0] + "*" * 16 + "X"


def test_a_known_id_card_with_x() -> None:
    # the worked example of GB 11643-1999
    assert names.is_valid_id_card("11010519491231002X")
    assert mask_id_card("11010519491231002X") == "1****************X"
    assert mask_id_card(" 11010519491231002X ") == "1****************X"


@pytest.mark.parametrize(
    ("number", "masked"), [("", ""), ("5", "*"), ("52030219850615123", "5***************3")]
)
def test_id_card_edge_cases(number: str, masked: str) -> None:
    assert mask_id_card(number) == masked


def test_a_birth_date_never_survives_masking() -> None:
    rng = random.Random(7)
    for _ in range(200):
        born = names.birth_date(rng)
        number = names.id_card(rng, born, Gender.FEMALE)
        assert f"{born:%Y%m%d}" not in mask_id_card(number)
    assert date(1949, 12, 31).strftime("%Y%m%d") not in mask_id_card("11010519491231002X")


# --- rooms ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("room", "masked"), [("302", "3**"), ("1201", "1***"), ("5", "*"), ("", "*"), (" 402 ", "4**")]
)
def test_rooms(room: str, masked: str) -> None:
    assert mask_room(room) == masked
