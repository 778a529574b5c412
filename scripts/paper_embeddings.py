"""Rule paper_embeddings: one released array of the paper, from the local mirror or its URL."""

import logging
from pathlib import Path

import numpy as np

from modality_gap.download import copy_verified, fetch
from modality_gap.runtime import log_to

log_to(snakemake.log[0])
p = snakemake.params
out = Path(snakemake.output[0])
checksum = f"sha256:{p.sha256}"
mirror = Path(p.mirror).expanduser() / out.name if p.mirror else None
if mirror is not None and mirror.is_file():
    logging.info("copying %s from the mirror %s", out.name, p.mirror)
    copy_verified(mirror, out, checksum)
elif p.download:
    fetch(p.url, out, checksum, retries=p.retries, timeout=p.timeout)
else:
    raise FileNotFoundError(
        f"{out.name}: not in the mirror {p.mirror!r} and paper_embeddings.download is false; "
        "point paper_embeddings.mirror at the released files or allow the download"
    )
arr = np.load(out, mmap_mode="r")
logging.info("%s: shape %s, dtype %s", out.name, arr.shape, arr.dtype)
