"""mkdocs hook: write the standards catalog (docs/catalog/, gitignored) before every build.

The catalog is generated here rather than with mkdocs-gen-files, whose pages the i18n plugin
drops (ultrabug/mkdocs-static-i18n#263): pages written into docs_dir are ordinary pages.
"""

from pathlib import Path

from gongfu_rules import load_standards
from gongfu_rules.docs_catalog import write_catalog


def on_config(config):
    write_catalog(load_standards(), Path(config["docs_dir"]) / "catalog")
    return config
