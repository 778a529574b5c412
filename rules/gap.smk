# Gap geometry and the contrastive loss landscape (Sections 1, 4.1-4.3 and Appendix A):
# Figures 1 and 4 (matched pairs in 2-D), the gap-metrics table, Figure 3b-d (loss under
# embedding shift) and Figures 3e-g and 9 (the sphere simulation).


rule figure1_figure4_paired_embeddings:
    input:
        lambda wc: [
            PAIR_SOURCES[s]
            for s in (
                released_sources()
                if wc.panels == "paper_systems"
                else workflow_sources()
            )
        ],
    output:
        report(
            f"{RESULTS}/figures/{{figure}}_{{panels}}_{{method}}.png",
            caption="../report/figure1_figure4.rst",
            category="Figure 1 and 4: the modality gap",
            labels={
                "figure": "{figure}",
                "panels": "{panels}",
                "projection": "{method}",
            },
        ),
        f"{RESULTS}/figures/{{figure}}_{{panels}}_{{method}}.pdf",
    log:
        f"{LOGS}/figure1_figure4/{{figure}}_{{panels}}_{{method}}.log",
    wildcard_constraints:
        figure="Figure1|Figure4",
        panels="paper_systems|workflow_models",
        method="umap|svd",
    conda:
        "../envs/analysis.yaml"
    threads: 1
    params:
        titles=lambda wc: (
            released_sources() if wc.panels == "paper_systems" else workflow_sources()
        ),
        split=config["gap"]["split"],
        seed=config["gap"]["seed"],
    script:
        "../scripts/figure1_figure4_paired_embeddings.py"


rule gap_metrics:
    input:
        list(PAIR_SOURCES.values()),
    output:
        report(
            f"{RESULTS}/tables/gap_metrics.csv",
            caption="../report/gap_metrics.rst",
            category="Figure 1 and 4: the modality gap",
        ),
    log:
        f"{LOGS}/gap_metrics.log",
    conda:
        "../envs/analysis.yaml"
    threads: 1
    params:
        sources=list(PAIR_SOURCES),
        split=config["gap"]["split"],
        n_boot=config["gap"]["n_boot"],
        seed=config["gap"]["seed"],
    script:
        "../scripts/gap_metrics.py"


rule figure3_loss_landscape:
    input:
        lambda wc: PAIR_SOURCES[wc.source],
    output:
        figure=report(
            f"{RESULTS}/figures/Figure3bcd_loss_landscape_{{source}}.png",
            caption="../report/figure3_loss_landscape.rst",
            category="Figure 3: contrastive learning preserves the gap",
            labels={"pairs": "{source}"},
        ),
        pdf=f"{RESULTS}/figures/Figure3bcd_loss_landscape_{{source}}.pdf",
        table=f"{RESULTS}/tables/Figure3_loss_landscape_{{source}}.csv",
        minimum=report(
            f"{RESULTS}/tables/Figure3_landscape_minimum_{{source}}.csv",
            caption="../report/figure3_landscape_minimum.rst",
            category="Figure 3: contrastive learning preserves the gap",
            labels={"pairs": "{source}"},
        ),
    log:
        f"{LOGS}/figure3_loss_landscape/{{source}}.log",
    wildcard_constraints:
        source=one_of(PAIR_SOURCES),
    conda:
        "../envs/analysis.yaml"
    threads: 1
    params:
        split=config["gap"]["split"],
        settings=config["gap"]["landscape"],
    script:
        "../scripts/figure3_loss_landscape.py"


rule figure3_figure9_sphere_simulation:
    output:
        sphere_mismatch=report(
            f"{RESULTS}/figures/Figure3e_sphere_mismatch.png",
            caption="../report/figure3_sphere.rst",
            category="Figure 3: contrastive learning preserves the gap",
        ),
        sphere_mismatch_pdf=f"{RESULTS}/figures/Figure3e_sphere_mismatch.pdf",
        sphere_clean=report(
            f"{RESULTS}/figures/Figure9a_sphere_no_mismatch.png",
            caption="../report/figure9_sphere.rst",
            category="Figure 3: contrastive learning preserves the gap",
        ),
        sphere_clean_pdf=f"{RESULTS}/figures/Figure9a_sphere_no_mismatch.pdf",
        loss=report(
            f"{RESULTS}/figures/Figure3g_Figure9b_sphere_loss.png",
            caption="../report/sphere_loss.rst",
            category="Figure 3: contrastive learning preserves the gap",
        ),
        loss_pdf=f"{RESULTS}/figures/Figure3g_Figure9b_sphere_loss.pdf",
        table=f"{RESULTS}/tables/Figure3_Figure9_sphere_loss.csv",
        barrier=report(
            f"{RESULTS}/tables/Figure3_Figure9_sphere_barrier.csv",
            caption="../report/sphere_barrier.rst",
            category="Figure 3: contrastive learning preserves the gap",
        ),
    log:
        f"{LOGS}/figure3_figure9_sphere_simulation.log",
    conda:
        "../envs/analysis.yaml"
    threads: 1
    params:
        settings=config["gap"]["sphere"],
    script:
        "../scripts/figure3_figure9_sphere_simulation.py"
