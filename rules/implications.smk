# Implications of the gap (Section 5): zero-shot accuracy (Table 1, Figure 10, Table 5) and
# denigration bias (Tables 2 and 4) as the embeddings are shifted along a gap vector.


rule zero_shot_shift:
    input:
        unpack(zero_shot_inputs),
    output:
        curve=f"{RESULTS}/implications/zero_shot/{{task}}_curve.csv",
        summary=f"{RESULTS}/implications/zero_shot/{{task}}_summary.json",
    log:
        f"{LOGS}/zero_shot_shift/{{task}}.log",
    wildcard_constraints:
        task=one_of(zero_shot_tasks()),
    conda:
        "../envs/analysis.yaml"
    threads: 1
    params:
        model=ZERO_SHOT["model"],
        settings={
            k: ZERO_SHOT[k]
            for k in (
                "gap_vector",
                "reference",
                "lambda_limit",
                "lambda_step",
                "split_seed",
            )
        },
        source=lambda wc: DATASETS[wc.task]["source"],
    script:
        "../scripts/zero_shot_shift.py"


rule figure10_table1_table5_zero_shot:
    input:
        curves=expand(
            f"{RESULTS}/implications/zero_shot/{{task}}_curve.csv",
            task=zero_shot_tasks(),
        ),
        summaries=expand(
            f"{RESULTS}/implications/zero_shot/{{task}}_summary.json",
            task=zero_shot_tasks(),
        ),
    output:
        figure=report(
            f"{RESULTS}/figures/Figure10_zero_shot_vs_gap.png",
            caption="../report/figure10.rst",
            category="Section 5: implications",
        ),
        figure_pdf=f"{RESULTS}/figures/Figure10_zero_shot_vs_gap.pdf",
        table1=report(
            f"{RESULTS}/tables/Table1_zero_shot.csv",
            caption="../report/table1.rst",
            category="Section 5: implications",
        ),
        table1_png=report(
            f"{RESULTS}/figures/Table1_zero_shot.png",
            caption="../report/table1.rst",
            category="Section 5: implications",
        ),
        table1_pdf=f"{RESULTS}/figures/Table1_zero_shot.pdf",
        table5=report(
            f"{RESULTS}/tables/Table5_significance.csv",
            caption="../report/table5.rst",
            category="Section 5: implications",
        ),
        table5_png=report(
            f"{RESULTS}/figures/Table5_significance.png",
            caption="../report/table5.rst",
            category="Section 5: implications",
        ),
        table5_pdf=f"{RESULTS}/figures/Table5_significance.pdf",
    log:
        f"{LOGS}/figure10_table1_table5_zero_shot.log",
    conda:
        "../envs/analysis.yaml"
    threads: 1
    params:
        tasks=zero_shot_tasks(),
        model=ZERO_SHOT["model"],
    script:
        "../scripts/figure10_table1_table5_zero_shot.py"


rule fairness_class_prompts:
    input:
        unpack(lambda wc: model_inputs(FAIRNESS["model"])),
    output:
        f"{RESULTS}/implications/fairness/class_prompts.npz",
    log:
        f"{LOGS}/fairness_class_prompts.log",
    conda:
        "../envs/torch.yaml"
    threads: config["embed"]["threads"]
    resources:
        gpu=1,
        mem_mb=config["embed"]["mem_mb"],
    params:
        model=FAIRNESS["model"],
        spec=model_spec(FAIRNESS["model"]) if FAIRNESS["model"] else None,
        classes=fairness_classes(),
    script:
        "../scripts/fairness_class_prompts.py"


rule table2_table4_denigration:
    input:
        images=embedding(FAIRNESS["model"], FAIRNESS["dataset"]),
        dataset=dataset_dir(FAIRNESS["dataset"]),
        prompts=f"{RESULTS}/implications/fairness/class_prompts.npz",
        reference=embedding(FAIRNESS["model"], FAIRNESS["reference"]),
    output:
        long=f"{RESULTS}/tables/Table2_Table4_denigration_long.csv",
        table2=report(
            f"{RESULTS}/tables/Table2_denigration.csv",
            caption="../report/table2.rst",
            category="Section 5: implications",
        ),
        table4=report(
            f"{RESULTS}/tables/Table4_denigration.csv",
            caption="../report/table4.rst",
            category="Section 5: implications",
        ),
        figure=report(
            f"{RESULTS}/figures/Table2_Table4_denigration.png",
            caption="../report/table2_table4_figure.rst",
            category="Section 5: implications",
        ),
        figure_pdf=f"{RESULTS}/figures/Table2_Table4_denigration.pdf",
        table2_png=report(
            f"{RESULTS}/figures/Table2_denigration.png",
            caption="../report/table2.rst",
            category="Section 5: implications",
        ),
        table2_pdf=f"{RESULTS}/figures/Table2_denigration.pdf",
        table4_png=report(
            f"{RESULTS}/figures/Table4_denigration.png",
            caption="../report/table4.rst",
            category="Section 5: implications",
        ),
        table4_pdf=f"{RESULTS}/figures/Table4_denigration.pdf",
    log:
        f"{LOGS}/table2_table4_denigration.log",
    conda:
        "../envs/analysis.yaml"
    threads: 1
    params:
        model=FAIRNESS["model"],
        group_attribute=FAIRNESS["group_attribute"],
        target_category=FAIRNESS["target_category"],
        harmful=FAIRNESS["harmful"],
        settings=[[s["label"], s["gap"]] for s in FAIRNESS["settings"]],
        synthetic=(
            FAIRNESS["dataset"] is not None
            and DATASETS[FAIRNESS["dataset"]]["source"] in SYNTHETIC_SOURCES
        ),
    script:
        "../scripts/table2_table4_denigration.py"
