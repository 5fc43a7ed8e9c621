"""Where stores live, one module per kind: store_root (folders, local or gs://), dicom (a DICOM store: folder or
DICOMweb, with its layout rules), dicomweb (the DICOMweb HTTP client), gcs (Cloud Storage credentials)."""
