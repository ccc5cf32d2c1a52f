"""The interface in Chinese and English. Only the interface: stored titles and texts are never translated.

The language is `?ui=zh` or `?ui=en` (remembered in a cookie), else Chinese."""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("zh", "en")
DEFAULT = "zh"
HTML_LANG = {"zh": "zh-Hans", "en": "en"}
SWITCH_LABEL = {"zh": "English", "en": "中文"}

# English interface text -> Chinese. A string missing here is shown in English (a test checks none is).
ZH = {
    "pairchive reading room": "pairchive 阅览室",
    "Search": "搜索",
    "Sources": "来源",
    "Timeline": "时间线",
    "API": "接口",
    "Search the archive": "检索档案",
    'Words, "phrases", OR, -word; either script': '词语、"短语"、OR、-排除词；简繁皆可',
    "Source": "来源",
    "any": "全部",
    "Language": "语言",
    "Published from": "发布日期自",
    "to": "至",
    "Pairing stories only": "仅结对报道",
    "Sort": "排序",
    "best match": "相关度",
    "newest first": "最新优先",
    "Per page": "每页",
    "stories match": "篇报道符合",
    "more than": "超过",
    "No stored story matches": "没有符合的报道",
    "Previous": "上一页",
    "Next": "下一页",
    "Page": "第",
    "page-suffix": "页",
    "Download as": "下载为",
    "Newest stories": "最新报道",
    "The archive holds": "档案收有",
    "stories from": "篇报道，来自",
    "sources": "个来源",
    "Published": "发布时间",
    "Outlet": "稿源",
    "Author": "作者",
    "Portal": "网站",
    "Relevance": "相关度",
    "judged a pairing story": "判定为结对报道",
    "judged not a pairing story": "判定为非结对报道",
    "Evidence": "依据",
    "for": "支持",
    "against": "反对",
    "term": "特征",
    "count": "次数",
    "weight": "权重",
    "Judged by": "判定版本",
    "Flagged by a reprocess": "重新处理时标记",
    "Provenance": "来源信息",
    "Fetched URL": "抓取网址",
    "Canonical URL": "规范网址",
    "Fetched at": "抓取时间",
    "HTTP status": "HTTP 状态",
    "Charset": "字符集",
    "Content hash": "内容哈希",
    "WARC file": "WARC 文件",
    "Offset": "偏移",
    "Length": "长度",
    "Record id": "记录 ID",
    "Payload digest": "载荷摘要",
    "no raw capture (fetched before raw captures were kept)": "无原始抓取（抓取时尚未保存原始数据）",
    "Raw capture": "原始抓取",
    "the page's bytes exactly as fetched (a download)": "抓取时的原始字节（下载）",
    "Cite": "引用",
    "Stable link": "固定链接",
    "Citation": "引文",
    "Copy": "复制",
    "Seen at": "见于",
    "First seen": "首次发现",
    "Last seen": "最近发现",
    "URL": "网址",
    "exact copy": "完全相同的转载",
    "Revisions": "修订",
    "revision": "修订",
    "one revision: the text has not changed since it was first fetched": "仅一个版本：首次抓取后正文未变",
    "Merged stories": "合并的报道",
    "merged in": "并入",
    "similarity": "相似度",
    "Story": "报道",
    "Stories": "报道数",
    "Pairing": "结对报道",
    "Newest published": "最新发布",
    "Last run": "最近一次抓取",
    "Last ok": "最近成功",
    "Failures in a row": "连续失败",
    "never run": "从未运行",
    "Stories per month": "每月报道数",
    "of the whole archive": "全部档案",
    "Month": "月份",
    "undated": "无日期",
    "No stories to draw.": "没有可绘制的报道。",
    "months in UTC, by publication": "按发布时间（UTC）计月",
    "Not found": "未找到",
    "Bad request": "请求有误",
    "The archive cannot be read": "无法读取档案",
    "Something went wrong": "出错了",
    "Back to the search": "返回搜索",
    "text": "正文",
    "Language of the interface": "界面语言",
    "JSON": "JSON",
    "all stories": "全部报道",
    "of this search": "本次搜索",
    "of this source": "本来源",
    "The query cannot be read": "无法解析查询",
    "Who pairs with whom": "结对关系",
    "No pairing relation was read from this text.": "未从正文中读出结对关系。",
    "from the headline": "来自标题",
    "schools": "所学校",
    "not in the gazetteer": "不在行政区划表中",
    "a place as written: not in the gazetteer": "原文地名：不在行政区划表中",
    "Pairing relations": "结对关系",
    "No stored story reports a pairing here.": "没有报道提到此地的结对。",
    "Kind": "类型",
    "Side": "一方",
    "Year": "年份",
}


# Keys that are not English text themselves.
EN = {"page-suffix": ""}


def translator(ui: str) -> Callable[[str], str]:
    """`t(text)`: the interface text in language `ui`."""
    if ui == "zh":
        return lambda text: ZH.get(text, text)
    return lambda text: EN.get(text, text)
