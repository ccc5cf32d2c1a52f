"""`pairchive extract`: one saved page in any charset -> what a crawl would store, with stable JSON keys."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from crawler.cli import main
from pipelines.page import RECORD_KEYS
from tests.cli import run_cli
from tests.crawls import pairchive

PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>湖里区与临夏县学校结对帮扶签约_教育新闻_示例网</title></head>
<body><div class="nav"><a href="/">首页</a> <a href="/edu/">教育</a></div>
<div class="article"><h1>湖里区与临夏县学校结对帮扶签约</h1>
<p class="info">发布时间：2022-06-16 10:30　来源：临夏州教育局　作者：马珺</p>
<p>6月15日，厦门市湖里区教育局与临夏县教育局在临夏县举行学校结对帮扶签约仪式，两地十所中小学结成对子。</p>
<p>根据协议，湖里区将每年选派骨干教师到结对学校支教，临夏县学校也将派出教师到湖里区跟岗学习。</p>
<p>双方表示，将以结对帮扶为纽带，推动两地教育资源共享，让山区孩子在家门口享受优质教育。</p>
<p>（责任编辑：王敏）</p>
<p>相关阅读</p>
<ul><li><a href="/1.html">湖里区举办中小学生运动会</a> 2022-06-10</li>
<li><a href="/2.html">临夏县开展教师培训</a> 2022-06-09</li></ul>
</div></body></html>
"""


def _saved(tmp_path: Path) -> Path:
    path = tmp_path / "page.html"
    path.write_bytes(PAGE.encode("gbk"))
    return path


def test_json_has_the_stable_keys_and_what_a_crawl_would_store(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["extract", str(_saved(tmp_path)), "--url", "http://edu.example.cn/2022/0616/1.html", "--json"]
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert tuple(record) == RECORD_KEYS
    assert record["title"] == "湖里区与临夏县学校结对帮扶签约"
    assert record["published"] == "2022-06-16T10:30:00+08:00"
    assert record["source_name"] == "临夏州教育局" and record["author"] == "马珺"
    assert record["language"] == "zh-Hans" and record["charset"] == "gb18030"
    assert record["relevance"]["is_pairing"] is True
    evidence = record["relevance"]["terms"]
    assert evidence and all(t["category"] in ("for", "against") for t in evidence)
    assert evidence[0]["category"] == "for" and evidence[0]["weight"] > 0
    assert 0.5 <= record["relevance"]["score"] <= 1.0
    text = record["text"]
    assert text.startswith("6月15日") and text.endswith("让山区孩子在家门口享受优质教育。")
    assert "责任编辑" not in text and "相关阅读" not in text and "运动会" not in text
    assert len(record["content_hash"]) == 64


def test_stdin_gives_the_same_record_as_the_file(tmp_path: Path) -> None:
    saved = _saved(tmp_path)
    from_file = CliRunner().invoke(main, ["extract", str(saved), "--url", "http://e.example/1", "--json"])
    from_stdin = CliRunner().invoke(
        main, ["extract", "-", "--url", "http://e.example/1", "--json"], input=saved.read_bytes()
    )
    assert json.loads(from_file.output) == json.loads(from_stdin.output)


def test_plain_output_is_a_readable_record(tmp_path: Path) -> None:
    result = run_cli("extract", str(_saved(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("湖里区与临夏县学校结对帮扶签约\n")
    assert "published: 2022-06-16T10:30:00+08:00" in result.stdout
    assert "pairing story (for: " in result.stdout
    assert "lines removed by cleaning" in result.stderr


def test_a_page_without_a_story_is_one_line_and_a_failure(tmp_path: Path) -> None:
    empty = tmp_path / "empty.html"
    empty.write_text("<html><body><a href='/'>首页</a></body></html>", encoding="utf-8")
    result = run_cli("extract", str(empty))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: no_text: no article body found in {empty.as_uri()}"
    ]


def test_missing_file_and_unknown_charset_are_one_line_errors(tmp_path: Path) -> None:
    missing = pairchive("extract", str(tmp_path / "nope.html"))
    assert missing.returncode != 0 and len(missing.stderr.strip().splitlines()) <= 3
    assert "nope.html" in missing.stderr and "Traceback" not in missing.stderr
    bad = CliRunner().invoke(main, ["extract", str(_saved(tmp_path)), "--charset", "klingon"])
    assert bad.exit_code == 2 and "unknown charset 'klingon'" in bad.output
    zone = CliRunner().invoke(main, ["extract", str(_saved(tmp_path)), "--timezone", "Mars/Olympus"])
    assert zone.exit_code == 1 and "Mars/Olympus" in zone.output and "Traceback" not in zone.output
