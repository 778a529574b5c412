# Embedding extraction: one file per (model, data set), images and texts, raw float32
# (results/embeddings/<model>/<data set>.npz; <model>.seed<k> = a random init with seed k).


rule embed:
    input:
        unpack(embed_inputs),
    output:
        f"{RESULTS}/embeddings/{{model}}/{{dataset}}.npz",
    log:
        f"{LOGS}/embed/{{model}}/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/embed/{{model}}/{{dataset}}.tsv"
    wildcard_constraints:
        model=MODEL_WILDCARD,
        dataset=one_of([*DATASETS, "noise"]),
    conda:
        "../envs/torch.yaml"
    threads: config["embed"]["threads"]
    resources:
        gpu=1,
        mem_mb=config["embed"]["mem_mb"],
    params:
        spec=lambda wc: model_spec(wc.model),
        batch_size=config["embed"]["batch_size"],
        text_batch_size=config["embed"]["text_batch_size"],
        on_bad_image=config["embed"]["on_bad_image"],
        noise=config["embed"]["noise"],
    script:
        "../scripts/embed.py"
