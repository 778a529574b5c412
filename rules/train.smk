# Training from scratch and fine-tuning (Section 4.4, Figures 8 and 16, the mismatch sweep).
# One job per run; a killed run resumes from its last epoch (results/training/<run>/checkpoint/).


rule train_clip:
    input:
        unpack(train_inputs),
    output:
        model=f"{RESULTS}/training/{{run}}/model.pt",
        metrics=f"{RESULTS}/training/{{run}}/metrics.csv",
    log:
        f"{LOGS}/train_clip/{{run}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train_clip/{{run}}.tsv"
    wildcard_constraints:
        run=one_of(TRAIN_RUNS),
    conda:
        "../envs/torch.yaml"
    threads: TRAIN["threads"]
    resources:
        gpu=1,
        mem_mb=TRAIN["mem_mb"],
        runtime=TRAIN["runtime"],
    params:
        settings=lambda wc: TRAIN_RUNS[wc.run],
        spec=lambda wc: train_spec(wc.run),
        optimiser={
            k: TRAIN[k]
            for k in (
                "batch_size",
                "lr",
                "betas",
                "eps",
                "weight_decay",
                "warmup_steps",
                "schedule",
            )
        },
        checkpoint_dir=lambda wc: f"{RESULTS}/training/{wc.run}/checkpoint",
    script:
        "../scripts/train_clip.py"


rule section44_initialisation:
    input:
        run_metrics("section44_"),
    output:
        table=report(
            f"{RESULTS}/tables/Section4.4_initialisation.csv",
            caption="../report/section44.rst",
            category="Section 4.4: initialisation vs optimisation",
        ),
        figure=report(
            f"{RESULTS}/figures/Section4.4_gap_during_training.png",
            caption="../report/section44_figure.rst",
            category="Section 4.4: initialisation vs optimisation",
        ),
        pdf=f"{RESULTS}/figures/Section4.4_gap_during_training.pdf",
    log:
        f"{LOGS}/section44_initialisation.log",
    conda:
        "../envs/analysis.yaml"
    threads: 1
    params:
        runs=[r for r in TRAIN_RUNS if r.startswith("section44_")],
    script:
        "../scripts/section44_initialisation.py"


rule figure8_figure16_mismatch_sweeps:
    input:
        lambda wc: run_metrics(f"{wc.figure.lower()}_"),
    output:
        figure=report(
            f"{RESULTS}/figures/{{figure}}_{{what}}.png",
            caption="../report/training_sweep.rst",
            category="Section 4.4: initialisation vs optimisation",
            labels={"figure": "{figure}"},
        ),
        pdf=f"{RESULTS}/figures/{{figure}}_{{what}}.pdf",
        table=f"{RESULTS}/tables/{{figure}}_{{what}}.csv",
    log:
        f"{LOGS}/figure8_figure16_mismatch_sweeps/{{figure}}_{{what}}.log",
    wildcard_constraints:
        figure="Figure8|Figure16|Mismatch",
        what="finetune_temperature|embedding_dimension|temperature_sweep",
    conda:
        "../envs/analysis.yaml"
    threads: 1
    params:
        runs=lambda wc: [r for r in TRAIN_RUNS if r.startswith(f"{wc.figure.lower()}_")],
        settings=lambda wc: [
            s for r, s in TRAIN_RUNS.items() if r.startswith(f"{wc.figure.lower()}_")
        ],
        mismatch_rates={
            name: d.get("mismatch_rate", 0.0) for name, d in DATASETS.items()
        },
    script:
        "../scripts/figure8_figure16_mismatch_sweeps.py"
