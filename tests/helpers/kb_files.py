"""Knowledge-base files for tests: a real PNG, a Markdown folder with a picture, and the 63 realistic
articles of tests/fixtures/kb as ``ArticleRecord``s."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

from app.importexport.kb_io import ArticleRecord

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kb"


def png(colour: bytes = b"\xff\x00\x00") -> bytes:
    """A real 1×1 PNG of that colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" + colour))
        + chunk(b"IEND", b"")
    )


UKEY_MD = """---
标题: UKey 插入后无法识别
类型: 故障处理
状态: 已发布
系统: 财政电子票据
模块: 票据开具
站点: changzhou
标签: UKey, 驱动
---
# UKey 插入后无法识别

## 现象
插入 UKey 后开票提示“未检测到证书”。

![截图](images/shot.png)

## 原因
驱动版本过旧。

## 解决办法
重新安装驱动 `UKeyDriver_v3.6.exe`，再拔插 UKey。
"""


def fixture_records() -> list[ArticleRecord]:
    """The 63 realistic articles of tests/fixtures/kb as the files would hold them."""
    items = json.loads((FIXTURES / "articles.json").read_text(encoding="utf-8"))
    return [
        ArticleRecord(
            title=item["title"],
            symptom=item["symptom"],
            cause=item["cause"],
            solution=item["solution"],
            system=item["system"] or "",
            module=item["module"] or "",
            site=item["site"] or "",
            tags=list(item["tags"]),
            type=item["type"],
            status=item["status"],
            source=f"{item['key']}.md",
        )
        for item in items
    ]


def ukey_folder(root: Path) -> Path:
    folder = root / "kb"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "shot.png").write_bytes(png())
    (folder / "ukey.md").write_text(UKEY_MD, encoding="utf-8")
    (folder / "密码重置.md").write_text("# 密码重置\n\n忘记密码时请联系管理员重置。\n", encoding="utf-8")
    return folder
