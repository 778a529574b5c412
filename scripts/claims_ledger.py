"""Rule claims_ledger: judge every claim of the paper from this run's result tables."""

import logging
from pathlib import Path

import pandas as pd

from modality_gap.claims import claims_ledger
from modality_gap.runtime import log_to
from modality_gap.tables import write_csv

log_to(snakemake.log[0])
paths = {Path(f).name: f for f in snakemake.input}
tables = {name: pd.read_csv(path) for name, path in paths.items()}
ledger = claims_ledger(tables, demo_scale=snakemake.params.demo_scale)
# evidence as the path the user finds the table at
ledger["evidence"] = [", ".join(paths.get(n, n) for n in e.split(", ")) if e else "" for e in ledger["evidence"]]
write_csv(ledger, snakemake.output[0])
for row in ledger.itertuples():
    logging.info("%-36s %-8s %s", row.claim_id, row.verdict, row.reproduced_value)
logging.info("%s", ledger["verdict"].value_counts().to_dict())
