"""Rule report_notebook: execute the report notebook with papermill, then render it to HTML."""

import logging
import os
from pathlib import Path

import nbformat
import papermill
import yaml
from nbconvert import HTMLExporter

import modality_gap
from modality_gap.atomic import atomic_open
from modality_gap.runtime import log_to

log_to(snakemake.log[0])
p = snakemake.params
out = snakemake.output
with atomic_open(out.config, "w") as fh:
    yaml.safe_dump(dict(p.config), fh, sort_keys=False)
tmp = Path(out.notebook).with_name(f".{Path(out.notebook).name}.running")
try:
    papermill.execute_notebook(
        snakemake.input.template, str(tmp), kernel_name="python3", progress_bar=False, cwd=os.getcwd(),
        parameters={"results": str(Path(out.notebook).parent.resolve()),
                    "package_dir": str(Path(modality_gap.__file__).resolve().parents[1]),
                    "config_file": str(Path(out.config).resolve())},
    )
    os.replace(tmp, out.notebook)
finally:
    tmp.unlink(missing_ok=True)
html, _ = HTMLExporter(exclude_input=True).from_notebook_node(nbformat.read(out.notebook, as_version=4))
with atomic_open(out.html, "w") as fh:
    fh.write(html)
logging.info("wrote %s and %s (%d kB)", out.notebook, out.html, len(html) // 1024)
