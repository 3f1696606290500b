"""PALACE raw-data simulator: writes the CRF exports an EDC (and a BICR vendor) would deliver.

Study facts live in specs/<study>/simulation/*.yaml (design, sites, schedule, forms dictionary, labs,
MedDRA pool, messiness switches). Pipeline: config -> subjects -> calendar + tumour reads (own RECIST
engine, independent of adam/) -> form builders -> messiness -> CSV + dictionary.csv + manifest.json.
"""
