# Mind the Gap (Liang et al., NeurIPS 2022): the reference reproduction workflow.
#
#   snakemake --cores 8 --resources gpu=1     the paper's full setup (config.yaml)
#   snakemake --profile profiles/demo         the 2-core CPU demo on embedded data
#
# Stages, in paper order, one file each under rules/.


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/embed.smk"
include: "rules/cone.smk"
include: "rules/gap.smk"
include: "rules/train.smk"
include: "rules/implications.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        all_targets(),
