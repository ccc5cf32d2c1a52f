"""Scrapy settings: the only settings module. Polite by default; a crawl may override single keys."""

from crawler import __version__
from crawler.vocabulary.config import DEFAULT_CONTACT_URL

BOT_NAME = "pairchive"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"
# `scrapy crawl portal -a source=NAME` (scrapy.cfg) crawls a source of the sources file with its run record.
COMMANDS_MODULE = "crawler.cli.scrapycommands"

# Identify ourselves, with a page a webmaster can read and complain to (PAIRCHIVE_CONTACT_URL replaces it).
USER_AGENT = f"pairchive/{__version__} (+{DEFAULT_CONTACT_URL})"

# Politeness: small regional servers, crawled nightly for years.
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024
RETRY_TIMES = 2
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False  # an unattended crawler opens no control ports
REMOTE_CONTROL_ENABLED = False
# No depth limit: a listing paginates for hundreds of pages, each one deeper. Loops end in the duplicate
# filter; endless calendars and the like are bounded per source by max_pages and max_minutes.
DEPTH_LIMIT = 0

# Stages for one fetched page, in order (see pipelines/).
ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 100,  # HTML -> title, text, metadata (trafilatura)
    "pipelines.clean.CleanPipeline": 200,  # drop trailers, teaser lists, credit lines, inline pinyin
    "pipelines.language.LanguagePipeline": 300,  # seeded langdetect on a bounded prefix
    "pipelines.relevance.RelevancePipeline": 400,  # is it a school-pairing story? calibrated score, evidence
    "pipelines.dedup.DedupPipeline": 500,  # same canonical URL or same normalized text: one story
    "pipelines.pairings.PairingsPipeline": 550,  # who pairs with whom: places, schools, kinds, evidence
    "pipelines.store.StorePipeline": 600,  # write the article row
}

DOWNLOADER_MIDDLEWARES = {
    # First of all (before robots.txt, 100): only http and https, and no private addresses when the guard
    # is on, for every request (links, redirects, feeds, sitemaps); a refusal is a rejection with its reason.
    "crawler.process.urlpolicy.UrlPolicy": 40,
    # Scrapy's robots.txt middleware, saying a robots.txt that cannot be had (never answers) in one warning
    # line instead of a traceback; such a host is crawled as if it allowed everything, as Scrapy does.
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.process.robots.RobotsTxt": 100,
    # Sees 429/503 before the stock retry middleware (550): pauses the portal as Retry-After asks, within
    # PAIRCHIVE_RETRY_AFTER_MAX and _TOTAL; past them the page is left for the next run (`retry_after`).
    "crawler.process.politeness.RetryAfterMiddleware": 560,
    # Before the meta refresh middleware (580) reads a page: a declared charset that is no charset
    # (base64, rot13, undefined...) is replaced by the one the bytes decide (crawler.vocabulary.charset).
    "crawler.process.charset.ScrapyCharset": 585,
    # Writes each article response, as received, and its request into the run's WARC file. Just outside
    # decompression (590) and inside redirects (600): the bytes as sent, final responses only.
    "crawler.process.capture.WarcCapture": 595,
    # Sees each redirect before the stock redirect middleware (600) follows it: a target of another
    # scheme, longer than URLLENGTH_LIMIT or off the source's allowed domains is refused in the name of
    # the page asked for.
    "crawler.process.urlpolicy.RedirectTargets": 610,
    # Last before the download handler (Scrapy's own middlewares end at 900): a distributed crawl's request
    # waits for a hold on its host's budget shared by every worker (Redis); off without PAIRCHIVE_REDIS_URL.
    "crawler.process.budget.SharedBudget": 960,
}
# Scrapy's URL length middleware drops links over URLLENGTH_LIMIT (2,083 characters) without a word and
# never sees redirects: the URL policy keeps the same limit for every request, each refusal a rejection.
SPIDER_MIDDLEWARES = {"scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None}
# Only http and https are ever fetched: Scrapy's handlers of other schemes (local files, FTP, S3, data:)
# are off, so nothing reaches them even past the URL policy.
DOWNLOAD_HANDLERS = {"file": None, "ftp": None, "s3": None, "data": None}
# Refuse hosts that resolve to loopback, private, link-local or reserved addresses (crawler.process.urlpolicy):
# "auto" (on for a source whose entry points resolve to public addresses only; an intranet or loopback
# source still crawls), "true" (always) or "false" (never). A DNS answer counts, not the URL's text.
PAIRCHIVE_BLOCK_PRIVATE_ADDRESSES = "auto"
# Scrapy's caching resolver that also refuses, at connection time, a private answer for a host the check
# passed (an answer that changed in between: DNS rebinding).
TWISTED_DNS_RESOLVER = "crawler.process.urlpolicy.GuardedResolver"
# Where the WARC files go (set per crawl from the data directory); empty: raw captures are not kept.
PAIRCHIVE_WARC_DIR = ""
PAIRCHIVE_RETRY_AFTER_MAX = 120  # seconds; a longer Retry-After leaves the page for the next run
PAIRCHIVE_RETRY_AFTER_TOTAL = 600  # seconds a portal may be paused by Retry-After in one run, in all
# Feeds and sitemaps have caps of their own, not DOWNLOAD_MAXSIZE (pages): the sitemap protocol's 50 MB
# (52,428,800 bytes) a file, downloaded or unpacked from gzip (spiders.discovery; a larger one is refused,
# `too_large`), and its 50,000 URLs a file (entries past them are not read: `truncated`).
PAIRCHIVE_DISCOVERY_MAXSIZE = 50 * 1024 * 1024
PAIRCHIVE_DISCOVERY_MAX_URLS = 50_000

# Distributed crawls (`pairchive worker`): set per crawl by crawler.process.worker from the job.
PAIRCHIVE_REDIS_URL = ""  # the Redis the workers share; empty: a single-machine crawl, nothing shared
PAIRCHIVE_REDIS_PREFIX = "pairchive"  # the start of every Redis key, so one Redis serves several archives
PAIRCHIVE_WORKER_ID = ""  # this worker, e.g. "host-a:1234"; empty when not distributed
PAIRCHIVE_RUN_ID = 0  # the run the workers share (its frontier, its robots.txt); 0: the spider's run id
PAIRCHIVE_REDIS_OUTAGE = 120  # seconds a request waits for an unreachable Redis before it is failed

EXTENSIONS = {
    # Stops downloads whose headers say they are not pages, feeds or sitemaps.
    "crawler.process.politeness.HtmlOnly": 300,
    # Loads the article URLs earlier runs settled, so a nightly run fetches only what is new.
    "crawler.process.incremental.KnownPages": 400,
    # Counts each article page's extraction health (text, length, date, byline, gate, boilerplate).
    "crawler.process.health.PageHealth": 450,
    # Writes the crawl run record: counts by outcome, each rejection with its reason, final status.
    "crawler.process.runrecord.RunRecorder": 500,
}

# The database the store stage and the run recorder write to; set per crawl.
PAIRCHIVE_DB = "sqlite:///pairchive.db"

# A stored article whose text holds this share of a new text's 5-character shingles (or the other way
# round) makes the new one a near copy of its story (pipelines.dedup). benchmarks/eval_dedup.py measures it.
NEAR_COPY_THRESHOLD = 0.8
# ... and the two texts share at least this share of all their shingles (Jaccard): a page quoting a story in
# full among others is not a copy of it.
NEAR_COPY_MIN_JACCARD = 0.5

# A story is kept when the relevance gate's score (its probability of a school-pairing story) reaches this.
# Higher keeps fewer stories and fewer strays; benchmarks/README.md has precision and recall by score band.
PAIRCHIVE_RELEVANCE_THRESHOLD = 0.5

LOG_FORMATTER = "crawler.process.logformatter.PageLogFormatter"
LOG_INSTALL_ROOT_HANDLER = True
LOG_LEVEL = "INFO"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# `json`: the crawl subprocess (crawler.process.worker) logs one JSON object per line to stderr instead
# (crawler.vocabulary.logformat), as `pairchive crawl --log-format json` asks; LOG_FILE and LOG_ENABLED
# then do not apply. Scrapy's own `scrapy crawl` keeps its text log.
PAIRCHIVE_LOG_FORMAT = "text"
