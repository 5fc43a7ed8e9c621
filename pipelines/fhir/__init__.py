"""The FHIR store de-identification graph, one job a module:

    read.py         store files (large NDJSON files as line ranges) -> batches of RawResource
    parse.py        parse and route: batches keyed by patient, Patient join info, sizes per type
    join.py         each resource with its Patient's shift key and phrases, de-identified -> lines per shard
    shards.py       lines packed per (type, shard) for the shuffle; one sorted NDJSON file a shard
    incremental.py  an incremental run's kept destination lines and ids
    branch.py       add_fhir_store_branch: the whole branch of one store (store and dataset runs)
    versions.py     the FHIR versions and what each command does with a store of each (one table)
    memory.py       a fixed malloc mmap threshold: freed multi-MB stage messages go back to the OS

What a store file holds and how a store is laid out is ``pipelines.stores.fhir``; the NDJSON/Bundle codec is
``transforms.fhir.codec``; import and export are ``pipelines.import_export``.
"""
