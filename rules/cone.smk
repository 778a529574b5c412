# The cone effect and the theory (Sections 2-3): pairwise cosine statistics (Figures 2a, 6, 14),
# depth x non-linearity (Figure 2b), one cone per random initialisation (Figures 2c, 5, 7) and
# numerical checks of Theorems 1 and 2.


rule cosine_stats:
    input:
        lambda wc: embedding(wc.model, wc.dataset),
    output:
        f"{RESULTS}/cone/cosine_stats/{{model}}/{{dataset}}_{{modality}}.npz",
    log:
        f"{LOGS}/cosine_stats/{{model}}/{{dataset}}_{{modality}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/cosine_stats/{{model}}/{{dataset}}_{{modality}}.tsv"
    wildcard_constraints:
        model=MODEL_WILDCARD,
        dataset=one_of([*DATASETS, "noise"]),
        modality="image|text",
    conda:
        "../envs/analysis.yaml"
    threads: 2
    resources:
        mem_mb=2000,
    params:
        split=CONE["split"],
        bins=CONE["bins"],
        block_size=CONE["block_size"],
    script:
        "../scripts/cosine_stats.py"


rule figure2a_figure6_cosine_histograms:
    input:
        lambda wc: [cosine_stats_file(*cell[2:]) for cell in cone_cells(wc.figure)],
    output:
        figure=report(
            f"{RESULTS}/figures/{{figure}}_cosine_histograms.png",
            caption="../report/figure2a_cosine_histograms.rst",
            category="Figure 2: the cone effect",
            labels={"figure": "{figure}"},
        ),
        pdf=f"{RESULTS}/figures/{{figure}}_cosine_histograms.pdf",
        table=report(
            f"{RESULTS}/tables/Figure6_cone_statistics_{{figure}}.csv",
            caption="../report/figure6_cone_statistics.rst",
            category="Figure 2: the cone effect",
            labels={"figure": "{figure}"},
        ),
    log:
        f"{LOGS}/figure2a_figure6_cosine_histograms/{{figure}}.log",
    wildcard_constraints:
        figure="Figure2a|Figure14",
    conda:
        "../envs/analysis.yaml"
    threads: 1
    params:
        cells=lambda wc: cone_cells(wc.figure),
        towers=CONE["towers"],
        columns=[label for label, _, _ in CONE_SETTINGS],
    script:
        "../scripts/figure2a_figure6_cosine_histograms.py"


rule figure2b_depth_nonlinearity:
    output:
        figure=report(
            f"{RESULTS}/figures/Figure2b_depth_nonlinearity.png",
            caption="../report/figure2b_depth_nonlinearity.rst",
            category="Figure 2: the cone effect",
        ),
        pdf=f"{RESULTS}/figures/Figure2b_depth_nonlinearity.pdf",
        table=f"{RESULTS}/tables/Figure2b_depth_nonlinearity.csv",
    log:
        f"{LOGS}/figure2b_depth_nonlinearity.log",
    conda:
        "../envs/analysis.yaml"
    threads: 2
    params:
        settings=CONE["depth"],
    script:
        "../scripts/figure2b_depth_nonlinearity.py"


rule figure2c_figure5_figure7_seed_cones:
    input:
        data=seed_embeddings("data"),
        noise=seed_embeddings("noise"),
    output:
        umap=report(
            f"{RESULTS}/figures/Figure2c_seed_cones_umap.png",
            caption="../report/figure2c_seed_cones.rst",
            category="Figure 2: the cone effect",
        ),
        umap_pdf=f"{RESULTS}/figures/Figure2c_seed_cones_umap.pdf",
        noise=report(
            f"{RESULTS}/figures/Figure5_seed_cones_noise_umap.png",
            caption="../report/figure5_seed_cones_noise.rst",
            category="Figure 2: the cone effect",
        ),
        noise_pdf=f"{RESULTS}/figures/Figure5_seed_cones_noise_umap.pdf",
        pca=report(
            f"{RESULTS}/figures/Figure7_seed_cones_pca.png",
            caption="../report/figure7_seed_cones_pca.rst",
            category="Figure 2: the cone effect",
        ),
        pca_pdf=f"{RESULTS}/figures/Figure7_seed_cones_pca.pdf",
        table=report(
            f"{RESULTS}/tables/Figure2c_seed_cones.csv",
            caption="../report/figure2c_seed_table.rst",
            category="Figure 2: the cone effect",
        ),
    log:
        f"{LOGS}/figure2c_figure5_figure7_seed_cones.log",
    conda:
        "../envs/analysis.yaml"
    threads: 2
    resources:
        mem_mb=8000,
    params:
        towers=CONE["towers"],
        n_seeds=CONE["n_seeds"],
        split=CONE["split"],
        max_points_per_seed=CONE["max_points_per_seed"],
        seed=CONE["seed"],
    script:
        "../scripts/figure2c_figure5_figure7_seed_cones.py"


rule theorem1_check:
    output:
        figure=report(
            f"{RESULTS}/figures/Theorem1_cosine_increase.png",
            caption="../report/theorem1.rst",
            category="Section 3: theory",
        ),
        pdf=f"{RESULTS}/figures/Theorem1_cosine_increase.pdf",
        table=report(
            f"{RESULTS}/tables/Theorem1_cosine_increase.csv",
            caption="../report/theorem1.rst",
            category="Section 3: theory",
        ),
    log:
        f"{LOGS}/theorem1_check.log",
    conda:
        "../envs/analysis.yaml"
    threads: 1
    params:
        settings=CONE["theorem1"],
        seed=CONE["seed"],
    script:
        "../scripts/theorem1_check.py"


rule theorem2_check:
    output:
        figure=report(
            f"{RESULTS}/figures/Theorem2_variance_share.png",
            caption="../report/theorem2.rst",
            category="Section 3: theory",
        ),
        pdf=f"{RESULTS}/figures/Theorem2_variance_share.pdf",
        table=report(
            f"{RESULTS}/tables/Theorem2_variance_share.csv",
            caption="../report/theorem2.rst",
            category="Section 3: theory",
        ),
    log:
        f"{LOGS}/theorem2_check.log",
    conda:
        "../envs/analysis.yaml"
    threads: 2
    params:
        settings=CONE["theorem2"],
        seed=CONE["seed"],
    script:
        "../scripts/theorem2_check.py"
