"""Vietnamese initiatives for bench/duplicates.py: titles and solutions as union members write them, made from
parts (what was done, to what, where, why), and near-duplicates of them as people actually re-file one: reworded,
without diacritics or in decomposed Unicode, reordered, with typos. Deterministic for a given seed."""

from __future__ import annotations

import random
import unicodedata

ACTIONS = [
    "Cải tiến", "Nâng cao hiệu quả", "Tự động hóa", "Thiết kế, chế tạo", "Ứng dụng công nghệ số trong",
    "Tối ưu hóa", "Sửa chữa, phục hồi", "Lắp đặt bổ sung", "Thay thế", "Số hóa", "Hợp lý hóa",
    "Xây dựng phần mềm quản lý", "Chuẩn hóa", "Giảm tiêu hao vật tư cho", "Cải tạo", "Hoàn thiện",
    "Ứng dụng cảm biến giám sát", "Đổi mới phương pháp vận hành", "Rút ngắn thời gian bảo dưỡng",
    "Nghiên cứu chế tạo", "Lập trình điều khiển", "Phục hồi chi tiết mài mòn của", "Kiểm soát rò rỉ",
    "Nội địa hóa phụ tùng", "Tận dụng nhiệt thừa của", "Bố trí lại", "Cải tiến quy trình vệ sinh",
    "Ứng dụng biến tần cho", "Gia công thay thế", "Lắp đặt hệ thống giám sát từ xa cho",
]  # fmt: skip
OBJECTS = [
    "hệ thống bơm nước sạch", "băng tải than", "quy trình kiểm kê vật tư", "máy nén khí trục vít", "lò hơi đốt than",
    "trạm biến áp 110kV", "đường ống dẫn khí", "tủ điện điều khiển", "hệ thống chiếu sáng nhà xưởng",
    "dây chuyền đóng gói", "quy trình thanh toán tạm ứng", "hồ sơ bệnh án", "sổ sách kế toán",
    "phần mềm chấm công", "kho thành phẩm", "xe nâng hàng", "hệ thống xử lý nước thải", "bể lắng sơ cấp",
    "máy cắt tôn", "khuôn đúc gang", "quạt làm mát động cơ", "tháp giải nhiệt", "máy biến áp phân phối",
    "công tơ điện tử", "hệ thống camera giám sát", "quy trình tiếp nhận hồ sơ một cửa", "bài giảng điện tử",
    "phòng thí nghiệm hóa nghiệm", "hệ thống phòng cháy chữa cháy", "van điều áp mạng cấp nước",
    "máy khoan cần", "cầu trục 10 tấn", "hệ thống khí nén", "lò nung clinker", "máy nghiền bi",
    "hệ thống điều hòa trung tâm", "trạm trộn bê tông", "máy ép nhựa", "dây chuyền sơn tĩnh điện",
    "hệ thống lọc bụi tĩnh điện", "bồn chứa xăng dầu", "máy phát điện dự phòng", "đồng hồ đo momen xoắn",
    "quy trình giao nhận hàng hóa", "hệ thống quản lý văn bản", "máy in nhãn mác", "quy trình lấy mẫu xét nghiệm",
    "hệ thống tưới nhỏ giọt", "máy sấy nông sản", "lưới điện hạ thế nông thôn", "trạm bơm tiêu úng",
    "đường dây trung thế 22kV", "hệ thống thông gió hầm lò", "máy xúc lật", "xe vận chuyển công nhân",
    "kho lưu trữ hồ sơ", "phần mềm quản lý khách hàng", "quy trình kiểm định đồng hồ nước", "máy dệt kim",
    "máy may công nghiệp", "hệ thống cấp liệu tự động", "cân điện tử băng tải", "bộ đếm sản phẩm",
]  # fmt: skip
PLACES = [
    "tại phân xưởng số {n}", "tại trạm bơm số {n}", "ở nhà máy {p}", "tại kho {p}", "của tổ sản xuất số {n}",
    "tại chi nhánh {p}", "ở xí nghiệp {p}", "tại công trường {p}", "tại phòng khám đa khoa {p}", "tại mỏ {p}",
]  # fmt: skip
PURPOSES = [
    "nhằm tiết kiệm điện năng", "giảm thời gian dừng máy", "bảo đảm an toàn lao động", "giảm chi phí bảo dưỡng",
    "nâng cao năng suất lao động", "giảm ô nhiễm môi trường", "rút ngắn thời gian giải quyết hồ sơ",
    "giảm tỷ lệ sản phẩm lỗi", "tiết kiệm nhiên liệu", "giảm tổn thất điện năng", "giảm lượng nước thất thoát",
    "nâng cao chất lượng phục vụ", "giảm sức lao động cho công nhân", "kéo dài tuổi thọ thiết bị",
]  # fmt: skip
PLACE_NAMES = [
    "Lạng Sơn", "Quảng Ninh", "Thái Nguyên", "Hải Phòng", "Vũng Tàu", "Dung Quất", "Cà Mau", "Phú Mỹ",
    "Đồng Nai", "Bình Dương", "Nghệ An", "Thanh Hóa", "Đà Nẵng", "Cần Thơ", "Bắc Giang", "Hà Tĩnh",
]  # fmt: skip
PROBLEMS = [
    "thường xuyên hỏng hóc, phải dừng máy để sửa chữa", "tiêu tốn nhiều điện năng vào giờ thấp điểm",
    "phải ghi chép bằng tay nên hay nhầm lẫn", "rò rỉ gây lãng phí và mất an toàn",
    "vận hành thủ công, tốn nhiều người",
    "nhiệt độ cao làm giảm tuổi thọ thiết bị", "phụ tùng nhập khẩu đắt và phải chờ lâu", "số liệu báo cáo chậm",
    "bụi và tiếng ồn vượt mức cho phép", "công nhân phải trèo lên cao để kiểm tra",
]  # fmt: skip
STEPS = [
    "lắp cảm biến áp lực và bộ điều khiển PLC", "viết phần mềm theo dõi trên máy tính bảng",
    "thay bạc đạn bằng loại chịu nhiệt", "lắp biến tần điều chỉnh tốc độ động cơ", "gia công lại trục bằng thép C45",
    "bố trí lại mặt bằng theo dòng chảy sản phẩm", "lắp van một chiều và đồng hồ đo lưu lượng",
    "dùng mã QR để quản lý vật tư", "thiết kế giá đỡ di động bằng thép hộp", "bọc bảo ôn đường ống hơi",
    "lập lịch bảo dưỡng theo giờ chạy máy", "đấu nối tín hiệu về phòng điều khiển trung tâm",
    "chế tạo bộ gá kẹp nhanh", "lắp đèn LED và cảm biến chuyển động", "số hóa biểu mẫu và ký duyệt điện tử",
]  # fmt: skip
RESULTS = [
    "tiết kiệm khoảng {m} triệu đồng mỗi năm", "giảm {k}% thời gian dừng máy", "năng suất tăng {k}%",
    "không còn sự cố trong {k} tháng vận hành thử", "giảm {k}% điện năng tiêu thụ",
    "mỗi ca giảm được {n} người làm thủ công", "thời gian xử lý hồ sơ rút từ {k} ngày xuống {n} ngày",
]  # fmt: skip
SYNONYMS = {
    "Cải tiến": "Đổi mới", "Nâng cao hiệu quả": "Cải thiện hiệu quả", "Tự động hóa": "Tự động điều khiển",
    "Thiết kế, chế tạo": "Chế tạo", "Tối ưu hóa": "Tối ưu", "Sửa chữa, phục hồi": "Phục hồi",
    "Thay thế": "Thay mới", "Số hóa": "Chuyển đổi số", "nhằm tiết kiệm": "để tiết kiệm", "giảm": "hạ",
    "hệ thống": "hệ", "công nhân": "người lao động", "bảo đảm": "đảm bảo", "tại": "ở", "máy": "thiết bị",
    "quy trình": "trình tự", "lắp": "gắn", "thời gian": "thời lượng", "Lắp đặt bổ sung": "Bổ sung",
    "chi phí": "kinh phí", "sửa chữa": "khắc phục", "mỗi năm": "hằng năm", "tiết kiệm": "giảm chi",
}  # fmt: skip
FILLERS = ["Giải pháp", "Sáng kiến", "Nghiên cứu", "Đề xuất", "Giải pháp kỹ thuật:"]


def _fill(rng: random.Random, text: str) -> str:
    return text.format(n=rng.randint(1, 12), p=rng.choice(PLACE_NAMES), m=rng.randint(5, 900), k=rng.randint(5, 60))


def initiative(rng: random.Random) -> tuple[str, str]:
    """A title and a solution."""
    obj = rng.choice(OBJECTS)
    parts = [rng.choice(ACTIONS), obj]
    if rng.random() < 0.5:
        parts.append(_fill(rng, rng.choice(PLACES)))
    if rng.random() < 0.6:
        parts.append(rng.choice(PURPOSES))
    if rng.random() < 0.2:
        parts.insert(0, rng.choice(FILLERS))
    title = " ".join(parts)
    first, second = rng.sample(STEPS, 2)
    solution = (
        f"Trước đây {obj} {rng.choice(PROBLEMS)}. Nhóm tác giả đã {first}, đồng thời {second}. "
        f"Sau khi áp dụng, {_fill(rng, rng.choice(RESULTS))}; {_fill(rng, rng.choice(RESULTS))}."
    )
    return title, solution


def _unaccent(text: str) -> str:
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def _typos(rng: random.Random, text: str, count: int) -> str:
    chars = list(text)
    for _ in range(count):
        at = rng.randrange(1, max(2, len(chars) - 1))
        if not chars[at].isalpha():
            continue
        kind = rng.random()
        if kind < 0.4 and at + 1 < len(chars):
            chars[at], chars[at + 1] = chars[at + 1], chars[at]
        elif kind < 0.7:
            del chars[at]
        else:
            chars[at] = rng.choice("aăâeêioôơuưyđnmtc")
    return "".join(chars)


def _reword(rng: random.Random, text: str) -> str:
    for old, new in rng.sample(sorted(SYNONYMS.items()), len(SYNONYMS)):
        if old in text and rng.random() < 0.6:
            text = text.replace(old, new, 1)
    return text


def _reorder(rng: random.Random, title: str, solution: str) -> tuple[str, str]:
    words = title.split()
    cut = rng.randint(2, max(2, len(words) - 2))
    title = " ".join(words[cut:] + words[:cut])
    sentences = [s.strip() for s in solution.split(". ") if s.strip()]
    rng.shuffle(sentences)
    return title, ". ".join(sentences)


KINDS = ("reworded", "unaccented", "reordered", "typos", "mixed")


def near_duplicate(rng: random.Random, title: str, solution: str, kind: str) -> tuple[str, str]:
    """The same initiative filed again in one of KINDS of ways."""
    if kind in ("reworded", "mixed"):
        title, solution = _reword(rng, title), _reword(rng, solution)
        if rng.random() < 0.5:
            title = rng.choice(FILLERS) + " " + title[0].lower() + title[1:]
    if kind in ("reordered", "mixed"):
        title, solution = _reorder(rng, title, solution)
    if kind in ("typos", "mixed"):
        title, solution = _typos(rng, title, rng.randint(1, 3)), _typos(rng, solution, rng.randint(2, 6))
    if kind == "unaccented" or (kind == "mixed" and rng.random() < 0.5):
        title, solution = _unaccent(title), _unaccent(solution)
        title = title.upper() if rng.random() < 0.3 else title
    elif rng.random() < 0.5:  # a phone keyboard that sends decomposed (NFD) Vietnamese
        title, solution = unicodedata.normalize("NFD", title), unicodedata.normalize("NFD", solution)
    return title, solution
