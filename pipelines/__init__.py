"""What a user launches: the deidflow command (cli.py, commands/), launch rules (launch.py), the stores
(stores/), the Beam graph per store kind (dicom/, fhir/), dataset runs (dataset.py) and run records
(run_record.py, report.py)."""
