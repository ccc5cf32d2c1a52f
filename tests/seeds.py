"""What cleaning must keep and drop in each of the user's sample files (tests/fixtures/seeds/, as scraped)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SEEDS_DIR = Path(__file__).parent / "fixtures" / "seeds"


@dataclass(frozen=True)
class SeedCase:
    file: str
    slug: str  # the sample-web story made from it
    keep: tuple[str, ...]  # exact sentences that must survive cleaning
    gone: tuple[str, ...]  # exact trailer or credit lines that must be gone

    @property
    def raw(self) -> str:
        return (SEEDS_DIR / self.file).read_text(encoding="utf-8")


SEEDS = (
    SeedCase(
        "000_5ca6906c91d237b9.txt",
        "zhangzhou-muwei-cloud-signing",
        keep=(
            "A total of 8 schools (kindergartens) in the two places were held in pairs.",
            "School co -construction list",
            "We grow up healthy in the same blue sky!",
        ),
        gone=("- END -", "Source: Muwei County Education Bureau, Zhangzhou aid Xinjiang"),
    ),
    SeedCase(
        "001_1db2522f26e0e2d9.txt",
        "suining-lixian-school-union",
        keep=(
            "At present, Chuanshan has 7 pairs of pairing schools with Lixian.",
            'Explore the "three major mechanisms" and consolidate the foundation of co -construction sharing',
        ),
        gone=(
            "- END -",
            # closing credits: 供稿 (supplied by) and the reporter, machine-translated
            "Supply of the Chuanshan District Education and Sports Bureau",
            "Pianshan Rong Media reporter Bu Kai",
            "The first five -year planning and implementation of the first five years of medical security in "
            "Changchun",
            "Heze two communities were selected as the second batch of provincial red cultural characteristic "
            "villages cultivation and creation list",
        ),
    ),
    SeedCase(
        "002_0dfe38e561c11be5.txt",
        "huli-minning-16-schools",
        keep=(
            "近日,湖里區16所學校與臨夏閩寧鎮16所學校通過線上簽約儀式達成共建幫扶。",
            "延伸閱讀",
            "結對幫扶如何落到實處?",
            "湖里區12批教師赴臨夏支教",
            "取得良好成效。",
        ),
        gone=(
            "關鍵詞: 閩寧",
            "相關閱讀",
            "如皋:推進“城鄉居保轉企保”擴面工作...",
            "- 地鐵逃生怎么下載(地團網)|要聞速遞2022-11-25",
            "第二屆中國米粉節開幕2022-11-25",
            "(xù)",
            "(qū)",
        ),
    ),
    SeedCase(
        "003_bb9a7a6c1e342f98.txt",
        "anqing-education-complexes",
        keep=(
            "The city has set up 72 urban and rural compulsory education complexes to cover 104 rural schools.",
            "and realize the cooperation of urban and rural schools.",
        ),
        gone=("(Editor: Huang Yan, Gongli)", "Sharing let more people see."),
    ),
    SeedCase(
        "004_c4618cce39f96ff9.txt",
        "zhejiang-26-county-alliance",
        keep=(
            "On June 13, the 26 County Education Communist Development Forum and Zhejiang Normal University's 26 "
            "County Education Development Action Promotion Meeting were held on the rooftop.",
            "Zhejiang News Client reporter Jiang Xiaorong Correspondent Zhu Hui",
        ),
        gone=(
            "- END -",
            "Joint and strong, the Central Plains University of Science and Technology helps Zhoukou's economic "
            "development",
            "Campus witnesses the growth of each of us.",
        ),
    ),
)
