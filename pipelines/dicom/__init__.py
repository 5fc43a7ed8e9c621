"""The DICOM store pipeline, one job a module (``add_dicom_store_branch`` in branch.py puts them together):

    store.list (pipelines/stores/dicom.py)  source instances: a folder tree, or QIDO-RS; the filter applied
      -> incremental.SkipExistingDicomInstances   optional: only those whose destination is not there yet
      -> deidentify.DeidentifyDicomInstances      read + de-identify: (SOPInstanceUID, bytes, store path) or an error
      -> deidentify.ResolveDuplicateInstances     one instance per SOPInstanceUID, the others error records
      -> write.WriteDicomInstances                the destination store's sink: files, or STOW-RS batches
    errors -> transforms.beam.WriteErrorRecords
"""
