# Data stage: downloads, the released paper embeddings, and every data set in one format
# (resources/datasets/<name>/: dataset.json, samples.csv, images/).


# Downloads run where Snakemake runs: compute nodes of many clusters have no internet.
localrules:
    download,
    paper_embeddings,


rule download:
    output:
        f"{RESOURCES}/downloads/{{file}}",
    log:
        f"{LOGS}/download/{{file}}.log",
    wildcard_constraints:
        file=one_of(DOWNLOADS["files"]),
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        downloads=1,
    params:
        url=lambda wc: DOWNLOADS["files"][wc.file]["url"],
        checksum=lambda wc: DOWNLOADS["files"][wc.file]["checksum"],
        retries=DOWNLOADS["retries"],
        timeout=DOWNLOADS["timeout"],
        mirrors=DOWNLOADS["mirrors"],
    script:
        "../scripts/download.py"


rule paper_embeddings:
    output:
        f"{RESOURCES}/paper_embeddings/{{file}}",
    log:
        f"{LOGS}/paper_embeddings/{{file}}.log",
    wildcard_constraints:
        file=one_of(PAPER_EMB["sha256"]),
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        downloads=1,
    params:
        url=lambda wc: PAPER_EMB["url"].format(file=wc.file),
        sha256=lambda wc: PAPER_EMB["sha256"][wc.file],
        mirror=PAPER_EMB["mirror"],
        download=PAPER_EMB["download"],
        retries=DOWNLOADS["retries"],
        timeout=DOWNLOADS["timeout"],
    script:
        "../scripts/paper_embeddings.py"


rule dataset:
    input:
        downloads=dataset_downloads,
        licensed=licensed_path,
    output:
        directory(f"{RESOURCES}/datasets/{{dataset}}"),
    log:
        f"{LOGS}/dataset/{{dataset}}.log",
    wildcard_constraints:
        dataset=one_of(DATASETS),
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        settings=lambda wc: DATASETS[wc.dataset],
    script:
        "../scripts/dataset.py"


rule dataset_preview:
    input:
        f"{RESOURCES}/datasets/{{dataset}}",
    output:
        report(
            f"{RESULTS}/data/preview_{{dataset}}.png",
            caption="../report/dataset_preview.rst",
            category="Data",
            labels={"data set": "{dataset}"},
        ),
    log:
        f"{LOGS}/dataset_preview/{{dataset}}.log",
    wildcard_constraints:
        dataset=one_of(DATASETS),
    conda:
        "../envs/analysis.yaml"
    threads: 1
    params:
        n_images=config["data_preview"]["n_images"],
        seed=config["data_preview"]["seed"],
    script:
        "../scripts/dataset_preview.py"


rule dataset_table:
    input:
        expand(f"{RESOURCES}/datasets/{{dataset}}", dataset=usable_datasets()),
    output:
        report(
            f"{RESULTS}/data/datasets.csv",
            caption="../report/dataset_table.rst",
            category="Data",
        ),
    log:
        f"{LOGS}/dataset_table.log",
    conda:
        "../envs/data.yaml"
    threads: 1
    params:
        names=usable_datasets(),
    script:
        "../scripts/dataset_table.py"
