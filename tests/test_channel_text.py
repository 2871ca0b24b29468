"""The plain-text channel layer: HTML to text, splitting, folding, menus and reading typed answers."""

from __future__ import annotations

import json
import random
import unicodedata

import pytest
from aiogram.types import (
    DisabledButton,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    KeyboardButtonPollType,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    WebAppInfo,
)

from channels.text import Choice, Menu, choices_of, fold, html_to_text, match, match_command, render, split_text

HINT = "Trả lời bằng số hoặc chữ của lựa chọn."


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data)


# --- html_to_text -------------------------------------------------------------------------------------------


def test_html_tags_dropped_text_kept() -> None:
    html = (
        "<b>Sáng kiến</b> <strong>mới</strong>: <i>tiết</i> <em>kiệm</em> <u>điện</u> <s>nước</s>\n"
        '<code>SK-000123</code> <pre><code class="language-text">dòng 1\ndòng 2</code></pre>\n'
        "<blockquote expandable>Trích dẫn</blockquote> <tg-spoiler>bí mật</tg-spoiler> "
        '<span class="tg-spoiler">ẩn</span> <tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
    )
    assert html_to_text(html) == (
        "Sáng kiến mới: tiết kiệm điện nước\nSK-000123 dòng 1\ndòng 2\nTrích dẫn bí mật ẩn 👍"
    )


def test_html_entities_unescaped_once() -> None:
    assert (
        html_to_text("a &lt; b &gt; c &amp; &quot;d&quot; &#39;e&#39; &#8230; &#x1F4E8;")
        == "a < b > c & \"d\" 'e' … 📨"
    )
    assert html_to_text("&lt;b&gt;không phải thẻ&lt;/b&gt;") == "<b>không phải thẻ</b>"
    assert html_to_text("&amp;lt;") == "&lt;"
    assert html_to_text("Tên: <b>Nguyễn &amp; Cộng sự &lt;3</b>") == "Tên: Nguyễn & Cộng sự <3"


def test_html_links() -> None:
    assert html_to_text('Xem <a href="https://congdoan.vn/hd">hướng dẫn</a>.') == (
        "Xem hướng dẫn (https://congdoan.vn/hd)."
    )
    assert html_to_text('<a href="https://congdoan.vn">https://congdoan.vn</a>') == "https://congdoan.vn"
    assert html_to_text('<a href="https://a.vn/?x=1&amp;y=2"><b>Mẫu</b> đơn</a>') == "Mẫu đơn (https://a.vn/?x=1&y=2)"
    assert html_to_text('<a href="https://a.vn"></a>') == "https://a.vn"
    # A mention's address only works inside Telegram.
    assert html_to_text('Gửi bởi <a href="tg://user?id=42">Trần Thị Bình</a>') == "Gửi bởi Trần Thị Bình"


def test_html_plain_and_empty() -> None:
    assert html_to_text("") == ""
    assert html_to_text("Không có thẻ nào\n\nhai đoạn") == "Không có thẻ nào\n\nhai đoạn"
    assert html_to_text("  giữ   khoảng trắng  ") == "  giữ   khoảng trắng  "


# --- split_text ---------------------------------------------------------------------------------------------


def reassemble(text: str, parts: list[str]) -> list[str]:
    """The separators between the parts; asserts that gap + part + gap + ... + tail is the text."""
    gaps = []
    pos = 0
    for part in parts:
        at = text.find(part, pos)
        assert at >= 0, (part, text[pos : pos + 80])
        gaps.append(text[pos:at])
        pos = at + len(part)
    gaps.append(text[pos:])
    rebuilt = "".join(gap + part for gap, part in zip(gaps, parts, strict=False)) + gaps[-1]
    assert rebuilt == text
    assert all(not gap.strip() for gap in gaps), gaps
    return gaps


def check_split(text: str, limit: int) -> list[str]:
    parts = split_text(text, limit)
    gaps = reassemble(text, parts)
    for i, part in enumerate(parts):
        assert 0 < len(part) <= limit
        assert part.strip()
        assert not part.startswith("\n") and not part.endswith("\n")
        assert not unicodedata.combining(part[0]), "a mark cut from its letter"
        if i and not gaps[i]:
            # A cut inside a word: only when the previous part is one word longer than the limit.
            assert not any(ch.isspace() for ch in parts[i - 1][1:]), (parts[i - 1], part)
    return parts


VOCABULARY = (
    "Sáng kiến tiết kiệm điện nước Công đoàn người lao động ưu tiên giải pháp kỹ thuật Đề xuất "
    "cải tiến quy trình đăng ký Trường Hải Nguyễn Thị Hương Phước SK-000123 2.000.000đ 15% "
    "(tạm) «mới» 😀 👨\u200d👩\u200d👧 ✓"
)
WORDS = VOCABULARY.split()
SEPARATORS = [" "] * 12 + [". ", "! ", "? ", "… ", ", ", "  ", "\n", "\n", "\n\n", "\n \n\n", " \n", "\t"]


def generated(rng: random.Random, limit: int) -> str:
    pieces = []
    size = rng.randint(0, limit * rng.choice([1, 2, 4, 8]))
    length = 0
    while length < size:
        repeat = rng.randint(1, 3 * limit // 4 + 1) if rng.random() < 0.03 else 1  # a word longer than the limit
        word = rng.choice(WORDS) * repeat
        piece = word + rng.choice(SEPARATORS)
        pieces.append(piece)
        length += len(piece)
    text = "".join(pieces)
    if rng.random() < 0.2:
        text = "\n" * rng.randint(1, 3) + text + "\n" * rng.randint(1, 3)
    if rng.random() < 0.3:
        text = nfd(text)
    if rng.random() < 0.1:
        text = text.replace("\n", " ")  # long lines without newlines
    return text


def test_split_property_many_generated_texts() -> None:
    rng = random.Random(20261122)
    for _ in range(400):
        limit = rng.choice([8, 15, 40, 120, 2000])
        check_split(generated(rng, limit), limit)


def test_split_default_limit_long_vietnamese_text() -> None:
    paragraph = "Sáng kiến giúp tiết kiệm điện nước cho toàn phân xưởng. " * 12
    text = "\n\n".join(paragraph.strip() for _ in range(10))
    parts = check_split(text, 2000)
    assert len(parts) == 5
    assert all(len(part) <= 2000 for part in parts)
    assert all(part.startswith("Sáng kiến") and part.endswith("phân xưởng.") for part in parts)


def test_split_empty_and_short() -> None:
    assert split_text("") == []
    assert split_text("\n\n") == []
    assert split_text("  \n \n ") == []
    assert split_text("Xin chào") == ["Xin chào"]
    assert split_text("\nXin chào\n\n") == ["Xin chào"]
    assert split_text("  thụt lề  ") == ["  thụt lề  "]  # only newlines are stripped
    with pytest.raises(ValueError):
        split_text("x", 0)


def test_split_prefers_blank_line_then_line_then_sentence_then_space() -> None:
    text = "Mở đầu ngắn.\nDòng hai.\n\nĐoạn sau kia."
    assert split_text(text, len("Mở đầu ngắn.\nDòng hai.\n\nĐoạn sau")) == ["Mở đầu ngắn.\nDòng hai.", "Đoạn sau kia."]
    text = "Câu một. Câu hai.\nCâu ba. Câu bốn."
    assert split_text(text, 25) == ["Câu một. Câu hai.", "Câu ba. Câu bốn."]
    assert split_text("Một hai ba. Bốn năm sáu bảy", 20) == ["Một hai ba.", "Bốn năm sáu bảy"]
    assert split_text("Hết rồi… Thật sao? Vâng! Được", 12) == ["Hết rồi…", "Thật sao?", "Vâng! Được"]
    assert split_text("Công đoàn cơ sở", 10) == ["Công đoàn", "cơ sở"]
    assert split_text("Công đoàn cơ sở", 9) == ["Công đoàn", "cơ sở"]


def test_split_keeps_spaces_inside_parts() -> None:
    assert split_text("a  b  c\n\n  d  e", 8) == ["a  b  c", "  d  e"]


def test_split_no_break_space_is_not_a_break() -> None:
    assert split_text("giá 2\u00a0000\u00a0000 đồng", 12) == ["giá", "2\u00a0000\u00a0000", "đồng"]


def test_split_hard_cuts_only_long_words() -> None:
    assert split_text("a" * 25, 10) == ["a" * 10, "a" * 10, "a" * 5]
    assert split_text("ngắn " + "x" * 12 + " cuối", 10) == ["ngắn", "x" * 10, "xx cuối"]


def test_split_hard_cut_keeps_marks_and_emoji_whole() -> None:
    word = nfd("ệ") * 10  # three code points a letter
    parts = split_text(word, 10)
    assert "".join(parts) == word
    assert [unicodedata.normalize("NFC", part) for part in parts] == ["ệệệ", "ệệệ", "ệệệ", "ệ"]
    family = "👨\u200d👩\u200d👧"  # five code points joined
    parts = split_text(family * 3, 7)
    assert parts == [family, family, family]


# --- fold ---------------------------------------------------------------------------------------------------


def test_fold_examples() -> None:
    assert fold("⬅️ Quay lại") == "quay lai"
    assert fold("GỬI  DUYỆT!") == "gui duyet"
    assert fold("✓ Giải pháp kỹ thuật") == "giai phap ky thuat"
    assert fold("✅ Xong 📨") == "xong"
    assert fold("Đường ĐI đồng") == "duong di dong"
    assert fold("Cải tiến—quy_trình, (mới)...") == "cai tien quy trinh moi"
    assert fold("ＳＫ１２３") == "sk123"
    assert fold("👍 ✓ ⬅️") == ""
    assert fold("") == ""


def test_fold_nfc_and_nfd_alike() -> None:
    for text in ["Ưu tiên", "Người lao động", "Kỹ thuật", "Trả lại bổ sung", "Từ chối", "Phước Hưng", "ĐẠT"]:
        assert fold(nfd(text)) == fold(unicodedata.normalize("NFC", text))
        assert fold(text).isascii()


# --- choices, menus, render ---------------------------------------------------------------------------------

KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[
        [button("✓ Giải pháp kỹ thuật", "f:1"), button("Bỏ qua", "skip")],
        [InlineKeyboardButton(text="Hướng dẫn", url="https://congdoan.vn/hd")],
        [InlineKeyboardButton(text="Chia sẻ", switch_inline_query="SK-1")],
        [button("⬅️ Quay lại", "back")],
    ]
)


def test_choices_of_inline_keyboard() -> None:
    assert choices_of(KEYBOARD) == [
        Choice(label="✓ Giải pháp kỹ thuật", callback_data="f:1"),
        Choice(label="Bỏ qua", callback_data="skip"),
        Choice(label="⬅️ Quay lại", callback_data="back"),
    ]
    disabled = InlineKeyboardButton(text="Đã gửi", callback_data="x", disabled=DisabledButton())
    assert choices_of(InlineKeyboardMarkup(inline_keyboard=[[disabled]])) == []


def test_choices_of_reply_keyboard_skips_requests() -> None:
    markup = ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text="📱 Chia sẻ số điện thoại", request_contact=True)],
            [KeyboardButton(text="Vị trí", request_location=True)],
            [KeyboardButton(text="Bình chọn", request_poll=KeyboardButtonPollType())],
            [KeyboardButton(text="Ứng dụng", web_app=WebAppInfo(url="https://congdoan.vn/app"))],
            [KeyboardButton(text="Nguyễn Văn An"), KeyboardButton(text="An Nguyễn Văn")],
            [KeyboardButton(text="Xoá số", request_contact=False)],
        ]
    )
    assert choices_of(markup) == [
        Choice(label="Nguyễn Văn An", text="Nguyễn Văn An"),
        Choice(label="An Nguyễn Văn", text="An Nguyễn Văn"),
        Choice(label="Xoá số", text="Xoá số"),
    ]


def test_choices_of_other_markups() -> None:
    assert choices_of(None) == []
    assert choices_of(ReplyKeyboardRemove()) == []
    assert choices_of(ForceReply()) == []


def test_menu_json_round_trip() -> None:
    menu = Menu(choices=(Choice("✓ Giải pháp", "f:1"), Choice("Nguyễn Văn An", text="Nguyễn Văn An")), message_id=7)
    data = json.loads(json.dumps(menu.to_json(), ensure_ascii=False))
    assert Menu.from_json(data) == menu
    assert Menu.from_json({"choices": [], "message_id": 1}) == Menu(choices=(), message_id=1)
    with pytest.raises(ValueError):
        Menu.from_json({"choices": [{"label": 3}], "message_id": 1})
    with pytest.raises(ValueError):
        Menu.from_json({"choices": [], "message_id": "1"})
    with pytest.raises(ValueError):
        Menu.from_json({"message_id": 1})


def test_render_numbered_choices_links_and_hint() -> None:
    text = "<b>Bước 2/5</b>\nChọn &lt;loại&gt; sáng kiến:\n"
    assert render(text, KEYBOARD, hint=HINT).split("\n") == [
        "Bước 2/5",
        "Chọn <loại> sáng kiến:",
        "",
        "1. ✓ Giải pháp kỹ thuật",
        "2. Bỏ qua",
        "3. ⬅️ Quay lại",
        "Hướng dẫn: https://congdoan.vn/hd",
        HINT,
    ]
    assert render(text, KEYBOARD) == (
        "Bước 2/5\nChọn <loại> sáng kiến:\n\n1. ✓ Giải pháp kỹ thuật\n2. Bỏ qua\n3. ⬅️ Quay lại\n"
        "Hướng dẫn: https://congdoan.vn/hd"
    )


def test_render_without_choices() -> None:
    assert render("<i>Đã lưu</i> ✅", None, hint=HINT) == "Đã lưu ✅"
    assert render("Đã lưu", ReplyKeyboardRemove(), hint=HINT) == "Đã lưu"
    links = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="Tải mẫu", url="https://congdoan.vn/mau.docx")],
            [InlineKeyboardButton(text="https://congdoan.vn", url="https://congdoan.vn")],
        ]
    )
    assert render("Mẫu đơn:", links, hint=HINT) == (
        "Mẫu đơn:\n\nTải mẫu: https://congdoan.vn/mau.docx\nhttps://congdoan.vn"
    )


def test_render_reply_keyboard() -> None:
    markup = ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text="📱 Chia sẻ số điện thoại", request_contact=True)],
            [KeyboardButton(text="Xoá số")],
        ]
    )
    assert render("Số điện thoại?", markup, HINT) == f"Số điện thoại?\n\n1. Xoá số\n{HINT}"
    assert render("", markup) == "1. Xoá số"


# --- match --------------------------------------------------------------------------------------------------

CHOICES = [
    Choice("✓ Giải pháp kỹ thuật", "f:1"),
    Choice("Bỏ qua", "skip"),
    Choice("⬅️ Quay lại", "back"),
]


@pytest.mark.parametrize(
    ("typed", "index"),
    [("1", 0), (" 2. ", 1), ("3.", 2), ("１", 0), ("\n2\n", 1)],
)
def test_match_number(typed: str, index: int) -> None:
    assert match(typed, CHOICES) is CHOICES[index]


@pytest.mark.parametrize("typed", ["0", "4", "-1", "1 2", "2..", "#2", "1)", "99999999999"])
def test_match_number_out_of_range_or_not_a_number(typed: str) -> None:
    assert match(typed, CHOICES) is None


@pytest.mark.parametrize("typed", ["bo qua", "Bỏ qua", "BỎ QUA", "bỏ qua!", "  Bo  Qua ", nfd("Bỏ qua")])
def test_match_label_with_or_without_diacritics(typed: str) -> None:
    assert match(typed, CHOICES) is CHOICES[1]


def test_match_ticked_and_emoji_labels() -> None:
    assert match("giai phap ky thuat", CHOICES) is CHOICES[0]
    assert match("✓ Giải pháp kỹ thuật", CHOICES) is CHOICES[0]
    assert match("quay lại", CHOICES) is CHOICES[2]
    assert match("⬅ quay lai", CHOICES) is CHOICES[2]


@pytest.mark.parametrize(
    "typed",
    ["bỏ qua phần này", "Bỏ qua vì chưa có số liệu", "giai phap", "quay", "giải pháp kỹ thuật mới", "", "  ", "✅"],
)
def test_match_free_text_is_not_a_choice(typed: str) -> None:
    assert match(typed, CHOICES) is None


def test_match_aliases() -> None:
    aliases = {"back": "quay lai", "skip": "bo qua", "xong": "xong", "gui": "gui duyet"}
    assert match("Back", CHOICES, aliases) is CHOICES[2]
    assert match("skip!", CHOICES, aliases) is CHOICES[1]
    assert match("xong", CHOICES, aliases) is None  # no such choice here
    assert match("back please", CHOICES, aliases) is None
    done = [Choice("✅ Xong", "done"), Choice("📨 Gửi duyệt", "send")]
    assert match("gửi", done, aliases) is done[1]
    assert match("Xong", done, aliases) is done[0]
    # The label itself wins over an alias.
    assert match("gui duyet", done, {"gui duyet": "xong"}) is done[1]


def test_match_ambiguity() -> None:
    twice = [Choice("Xong", "a"), Choice("✅ Xong", "b"), Choice("Bỏ qua", "c")]
    assert match("xong", twice) is None
    assert match("2", twice) is twice[1]
    assert match("done", twice, {"done": "xong"}) is None


def test_match_numeric_labels() -> None:
    years = [Choice("2025", "y:2025"), Choice("2026", "y:2026")]
    assert match("2026", years) is years[1]
    assert match("1", years) is years[0]
    scale = [Choice(str(n), f"r:{n}") for n in (5, 4, 3, 2, 1)]
    assert match("3", scale) is scale[2]  # third choice and label "3" agree
    assert match("1", scale) is None  # first choice or label "1": ask again
    assert match("5.", scale) is None


def test_match_symbol_only_labels() -> None:
    thumbs = [Choice("👍", "up"), Choice("👎", "down")]
    assert match("👍", thumbs) is thumbs[0]
    assert match(" 👎\ufe0f ", thumbs) is thumbs[1]
    assert match("✅", thumbs) is None
    assert match("anything", []) is None


def test_match_reply_choice() -> None:
    names = choices_of(ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Nguyễn Văn An")]]))
    chosen = match("nguyen van an", names)
    assert chosen is not None and chosen.text == "Nguyễn Văn An"


# --- match_command ------------------------------------------------------------------------------------------

LABELS = {
    "nhan kiem tra": "take",
    "xac nhan": "confirm",
    "tra lai bo sung": "return",
    "tu choi": "reject",
    "toan van": "full",
    "take": "take",
    "confirm": "confirm",
    "return": "return",
    "reject": "reject",
    "full text": "full",
}


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("xác nhận SK-000123", ("confirm", "SK-000123", "")),
        ("Trả lại SK-000123: thiếu số liệu", ("return", "SK-000123", "thiếu số liệu")),
        ("từ chối sk-12 - trùng", ("reject", "SK-000012", "trùng")),
        ("nhận SK-000123", ("take", "SK-000123", "")),
        ("Nhận kiểm tra SK 7", ("take", "SK-000007", "")),
        ("nhan sk7", ("take", "SK-000007", "")),
        ("  NHẬN   SK-000123   ", ("take", "SK-000123", "")),
        ("Trả lại bổ sung SK-45 – cần bảng tính", ("return", "SK-000045", "cần bảng tính")),
        ("Trả lại SK-000123 thiếu số liệu", ("return", "SK-000123", "thiếu số liệu")),
        ("Từ chối SK-9: Trùng với SK-000002,  đã có", ("reject", "SK-000009", "Trùng với SK-000002,  đã có")),
        ("toàn văn SK-1", ("full", "SK-000001", "")),
        ("take SK-000123", ("take", "SK-000123", "")),
        ("Confirm sk-000001, ok", ("confirm", "SK-000001", "ok")),
        ("reject SK-3: duplicate", ("reject", "SK-000003", "duplicate")),
        ("full text sk 123456789", ("full", "SK-123456789", "")),
        ("/xac_nhan SK-1", ("confirm", "SK-000001", "")),
    ],
)
def test_match_command(typed: str, expected: tuple[str, str, str]) -> None:
    assert match_command(typed, LABELS) == expected


def test_match_command_reason_in_nfc() -> None:
    key, number, reason = match_command(nfd("Trả lại SK-1: Thiếu số liệu tiết kiệm"), LABELS) or ("", "", "")
    assert (key, number) == ("return", "SK-000001")
    assert reason == unicodedata.normalize("NFC", "Thiếu số liệu tiết kiệm")


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "SK-000123",  # no command
        "xác nhận",  # no number
        "xin chào SK-1",
        "kiểm tra SK-1",  # the end of a label is not its start
        "xac nhann SK-1",
        "nhận SK-12abc",
        "nhận SK-1234567890",
        "nhận KSK-1",
        "t SK-1",  # not a whole word
        "xác nhận số 123",
    ],
)
def test_match_command_rejects(typed: str) -> None:
    assert match_command(typed, LABELS) is None


def test_match_command_ambiguity() -> None:
    labels = {"tra lai bo sung": "return", "tra loi": "answer", "xac nhan": "confirm", "xac nhan lai": "reconfirm"}
    assert match_command("trả SK-1", labels) is None  # starts both "tra lai" and "tra loi"
    assert match_command("trả lại SK-1", labels) == ("return", "SK-000001", "")
    assert match_command("xác nhận SK-1", labels) == ("confirm", "SK-000001", "")  # equal beats a longer label
    assert match_command("xác SK-1", labels) is None
    assert match_command("xác nhận lại SK-1", labels) == ("reconfirm", "SK-000001", "")
    # Two labels equal to the words but for different keys.
    assert match_command("ok SK-1", {"ok": "confirm", "OK!": "take"}) is None
    # Several labels of the same key are not ambiguous.
    assert match_command("nhận SK-1", {"nhan kiem tra": "take", "nhan": "take"}) == ("take", "SK-000001", "")
