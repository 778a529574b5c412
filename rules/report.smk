# The report: the claims ledger (results/claims.csv) and the papermill notebook that shows every
# figure and table in paper order (results/report.ipynb and its HTML copy). Both run last.


rule claims_ledger:
    input:
        evidence_tables(),
    output:
        report(
            f"{RESULTS}/claims.csv",
            caption="../report/claims.rst",
            category="Claims ledger",
        ),
    log:
        f"{LOGS}/claims_ledger.log",
    conda:
        "../envs/analysis.yaml"
    threads: 1
    params:
        demo_scale=config["report"]["demo_scale"],
    script:
        "../scripts/claims_ledger.py"


rule report_notebook:
    input:
        ledger=f"{RESULTS}/claims.csv",
        results=stage_targets(),
        template=workflow.source_path("../scripts/report_notebook.ipynb"),
    output:
        notebook=f"{RESULTS}/report.ipynb",
        html=f"{RESULTS}/report.html",
        config=f"{RESULTS}/report_config.yaml",
    log:
        f"{LOGS}/report_notebook.log",
    conda:
        "../envs/report.yaml"
    threads: 1
    params:
        config=config,
    script:
        "../scripts/report_notebook.py"
