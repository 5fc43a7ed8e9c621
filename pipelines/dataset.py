"""The dataset pipeline: every store of a source dataset de-identified into a new dataset, in one Beam pipeline.

Launch (``plan_dataset_deidentify``) checks every rule before anything is written — names, same project and
location, the destination dataset must not exist (the API's ALREADY_EXISTS), the key — then creates the
destination dataset with one store per source store (same ids; structural settings copied from the source's
``store.json``, notification and stream settings dropped). R5 FHIR stores are skipped with a notice.

Build (``add_dataset_branches``) adds one branch per store to one pipeline, all with the same ``Keys``, so a
patient's pseudonyms and date shift agree across every store. Branch builders are looked up by store kind in
``branch_builders()``: the DICOM branch is ``pipelines.dicom.branch.add_dicom_store_branch``; the FHIR branch is
``pipelines.fhir.branch.add_fhir_store_branch``, called as
``add_fhir_store_branch(pipeline, source, destination, run_dir, policy, keys, label=..., resource_filter=...)``.
Each branch counts ``success/<label>`` and ``failure/<label>`` with label ``<kind>/<store id>``.

DICOM identifiers are FHIR context (issue 17): in a run with DICOM and FHIR stores, the AccessionNumber, PatientID
and OtherPatientIDs of every DICOM instance (headers only: ``dicom_identifiers``) are gathered per DICOM PatientID
(``DicomIdentifiers``) and linked to FHIR patients where a hospital links them (``LinkDicomContext``): a DICOM
PatientID or other id equal to a FHIR Patient's identifier value or id, or an AccessionNumber equal to an identifier
of an ImagingStudy / ServiceRequest / ... of a patient's compartment. The linked patient's texts, narrative and text
attachments then get those values as ``[CTX]`` phrases, like its compartment's own identifiers
(``pipelines.dataset_context``).

Run records: the summary is written to ``<destination dataset>/.deidflow/runs/<run-id>/`` and to the same run
folder under each destination store; each store's error records go to its own run folder, and a copy of all of
them to the dataset's run folder (``errors-<kind>-<store>-*.ndjson``).
"""

from __future__ import annotations

import datetime
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

from pipelines import launch
from pipelines.fhir.versions import DEIDENTIFIED_VERSIONS, fhir_version
from pipelines.launch import ResourceName
from pipelines.stores import store_root
from transforms.config import DeidentifyConfig
from transforms.crypto import Keys
from transforms.errors import LaunchError

DATASET_META = "dataset.json"
STORE_KINDS = ("dicomStores", "fhirStores")
# Source store settings that are not copied to the destination: they would publish de-identification events to
# the source's topics (notificationConfigs, streamConfigs) or describe the source (createTime).
NOT_COPIED = ("createTime", "notificationConfigs", "streamConfigs")
_log = logging.getLogger(__name__)


# --- datasets and stores under a store root ------------------------------------------------------------


def dataset_path(root: str, dataset: ResourceName) -> str:
    return store_root.join(root, *dataset.dataset_name.split("/"))


def dataset_exists(root: str, dataset: ResourceName) -> bool:
    return store_root.exists(dataset_path(root, dataset))


def create_dataset(root: str, dataset: ResourceName) -> str:
    """A dataset is a folder with ``.deidflow/dataset.json`` (so it exists on object stores, too)."""
    path = dataset_path(root, dataset)
    store_root.mkdirs(path)
    meta = {"name": dataset.dataset_name, "createTime": datetime.datetime.now(datetime.UTC).isoformat()}
    store_root.write_json(store_root.join(path, store_root.META_DIR, DATASET_META), meta)
    return path


def _child_folders(folder: str) -> list[str]:
    """Names of the sub-folders of a local folder, or of the stores (folders with store.json) of a gs:// prefix."""
    if not store_root.is_remote(folder):
        if not os.path.isdir(folder):
            return []
        # ".mr" is a valid store id: only deidflow's own folder is not a store (issue 18)
        return sorted(n for n in os.listdir(folder)
                      if os.path.isdir(os.path.join(folder, n)) and n != store_root.META_DIR)
    from apache_beam.io.filesystems import FileSystems

    pattern = folder.rstrip("/") + f"/*/{store_root.META_DIR}/{store_root.STORE_META}"
    try:
        found = FileSystems.match([pattern])[0].metadata_list
    except Exception:  # noqa: BLE001 - nothing there
        return []
    return sorted({store_root.relative(m.path, folder).split("/")[0] for m in found})


def store_meta(path: str) -> dict:
    """A store's ``.deidflow/store.json`` ({} for a plain folder without one)."""
    meta_path = store_root.join(path, store_root.META_DIR, store_root.STORE_META)
    if not store_root.exists(meta_path):
        return {}
    try:
        return store_root.read_json(meta_path)
    except Exception:  # noqa: BLE001 - a damaged metadata file: treat as a plain folder
        return {}


@dataclass(frozen=True)
class StoreEntry:
    """One store of a dataset as found under the store root."""

    name: ResourceName
    path: str
    meta: dict

    @property
    def kind(self) -> str:
        return self.name.kind

    @property
    def fhir_version(self) -> str:
        return launch.fhir_version_of(self.meta) or "R4"


def list_stores(root: str, dataset: ResourceName) -> list[StoreEntry]:
    """Every DICOM and FHIR store of a dataset, by kind then id."""
    base = dataset_path(root, dataset)
    found = []
    for kind in STORE_KINDS:
        for store in _child_folders(store_root.join(base, kind)):
            name = dataset.store_in(dataset, kind, store)
            path = launch.resource_path(root, name)
            found.append(StoreEntry(name, path, store_meta(path)))
    return found


# --- launch ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreRun:
    """One branch of a dataset run: a source store and its destination."""

    kind: str
    store_id: str
    source: ResourceName
    destination: ResourceName
    source_path: str
    destination_path: str
    run_dir: str
    settings: dict  # copied into the destination store.json

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.store_id}"


@dataclass(frozen=True)
class DatasetLaunch:
    """What the dataset pipeline needs, after every launch rule has passed."""

    source: ResourceName
    destination: ResourceName
    destination_path: str
    stores: tuple[StoreRun, ...]
    skipped: tuple[tuple[str, str], ...]  # (store name, reason)
    run_id: str
    run_dir: str
    keys: Keys
    policies: dict  # store kind -> compiled policy

    @property
    def labels(self) -> list[str]:
        return [s.label for s in self.stores]

    def stores_of(self, kind: str) -> list[StoreRun]:
        return [s for s in self.stores if s.kind == kind]


def branch_builders() -> dict[str, Callable | None]:
    """The branch builder per store kind; None where this build has no pipeline for that kind yet."""
    from pipelines.dicom.branch import add_dicom_store_branch

    builders: dict[str, Callable | None] = {"dicomStores": add_dicom_store_branch, "fhirStores": None}
    try:
        from pipelines.fhir.branch import add_fhir_store_branch
    except ImportError:
        pass
    else:
        builders["fhirStores"] = add_fhir_store_branch
    return builders


def plan_dataset_deidentify(
    source: str,
    destination: str,
    root: str,
    config: DeidentifyConfig | None,
    key_file: str | None,
    create_key_file: bool = False,
    available_kinds: set | None = None,
    compile_policies: Callable[[set], dict] | None = None,
    dry_run: bool = False,
) -> DatasetLaunch:
    """Check the dataset-level launch rules, compile the policies the stores need and resolve the key.

    Writes nothing but a new key file (``create_key_file``) once every check has passed; the destination is
    created by ``create_destination``. ``compile_policies(kinds)`` returns {kind: policy} and may raise ConfigError.
    """
    src = ResourceName.parse(source, None, "SOURCE_DATASET")
    dst = ResourceName.parse(destination, None, "--destination-dataset")
    launch.require_same_project_and_location(src, dst, "--destination-dataset")
    if src == dst:
        raise LaunchError("--destination-dataset: must differ from the source dataset")
    root = store_root.normalize_root(root)
    if not dataset_exists(root, src):
        raise LaunchError(f"SOURCE_DATASET: dataset '{src.dataset_name}' does not exist under store root '{root}'")
    interrupted = incomplete_marker(root, dst) if dataset_exists(root, dst) else None
    if dataset_exists(root, dst) and interrupted is None:
        raise LaunchError(
            f"--destination-dataset: ALREADY_EXISTS: dataset '{dst.dataset_name}' already exists; "
            "a dataset-level run always creates a new dataset"
        )
    if interrupted is not None and create_key_file and key_file and not store_root.exists(key_file):
        raise LaunchError("--destination-dataset: an interrupted run into it can only be resumed with its key; "
                          "--create-key-file would make a new one")
    if available_kinds is None:
        available_kinds = {kind for kind, builder in branch_builders().items() if builder is not None}
    run_id = launch.new_run_id()
    stores, skipped = [], []
    for entry in list_stores(root, src):
        in_dataset = fhir_version(entry.fhir_version).in_dataset if entry.kind == "fhirStores" else "deidentify"
        if in_dataset == "skip":
            skipped.append((entry.name.name, "R5 FHIR stores are not supported and are skipped"))
            continue
        if in_dataset == "error":
            raise LaunchError(
                f"SOURCE_DATASET: {entry.name.name} declares FHIR version {entry.fhir_version}; "
                f"this build de-identifies {' and '.join(DEIDENTIFIED_VERSIONS)} stores (R5 stores are skipped)"
            )
        if entry.kind not in available_kinds:
            raise LaunchError(
                f"SOURCE_DATASET: {entry.name.name}: {launch.STORE_KINDS[entry.kind]}s cannot be "
                "de-identified at dataset level by this build yet; nothing was written"
            )
        dest = dst.store_in(dst, entry.kind, entry.name.store)
        dest_path = launch.resource_path(root, dest)
        settings = {k: v for k, v in entry.meta.items() if k not in NOT_COPIED and k != "type"}
        stores.append(
            StoreRun(
                entry.kind,
                entry.name.store,
                entry.name,
                dest,
                entry.path,
                dest_path,
                store_root.join(dest_path, store_root.META_DIR, "runs", run_id),
                settings,
            )
        )
    policies = compile_policies({s.kind for s in stores}) if compile_policies else {}
    keys = launch.resolve_keys(config, key_file, create_key_file, dry_run)
    if interrupted is not None and interrupted.get(launch.KEY_FINGERPRINT) != keys.fingerprint:
        raise LaunchError(
            f"--destination-dataset: ALREADY_EXISTS: dataset '{dst.dataset_name}' holds an interrupted run "
            f"(marked incomplete) written with key {interrupted.get(launch.KEY_FINGERPRINT)}; rerun with that "
            "--key-file to resume it, or delete the dataset")
    dst_path = dataset_path(root, dst)
    return DatasetLaunch(
        src,
        dst,
        dst_path,
        tuple(stores),
        tuple(skipped),
        run_id,
        store_root.join(dst_path, store_root.META_DIR, "runs", run_id),
        keys,
        policies,
    )


INCOMPLETE = "INCOMPLETE.json"  # .deidflow/ of a destination dataset while a run into it has not completed


def incomplete_marker(root: str, dataset: ResourceName) -> dict | None:
    """The marker of an interrupted run into a destination dataset ({runId, keyFingerprint}), else None."""
    path = store_root.join(dataset_path(root, dataset), store_root.META_DIR, INCOMPLETE)
    if not store_root.exists(path):
        return None
    try:
        return store_root.read_json(path)
    except Exception:  # noqa: BLE001 - a marker cut short: still interrupted, key unknown
        return {}


def create_destination(root: str, plan: DatasetLaunch) -> None:
    """Create the destination dataset and its stores (the only writes before the pipeline runs), marked
    incomplete until the run completes (``mark_complete``): a killed run leaves the marker, and a rerun with the
    same key resumes into the dataset (same key, same names: no second copy) instead of ALREADY_EXISTS."""
    root = store_root.normalize_root(root)
    path = dataset_path(root, plan.destination)
    # claimed atomically (issue 18): of two runs of different keys into one new dataset, the second stops here
    marker = {"runId": plan.run_id, launch.KEY_FINGERPRINT: plan.keys.fingerprint}
    if not store_root.create_exclusive(store_root.join(path, store_root.META_DIR, INCOMPLETE),
                                       (json.dumps(marker, indent=2, sort_keys=True) + "\n").encode("utf-8")):
        found = incomplete_marker(root, plan.destination) or {}
        if found.get(launch.KEY_FINGERPRINT) != plan.keys.fingerprint:
            raise LaunchError(f"--destination-dataset: ALREADY_EXISTS: another run with key "
                              f"{found.get(launch.KEY_FINGERPRINT)} is writing dataset "
                              f"'{plan.destination.dataset_name}'")
    create_dataset(root, plan.destination)
    for store in plan.stores:
        launch.create_store(store.destination_path, store.kind,
                            {**store.settings, launch.KEY_FINGERPRINT: plan.keys.fingerprint})


def mark_complete(root: str, plan: DatasetLaunch) -> None:
    path = dataset_path(store_root.normalize_root(root), plan.destination)
    store_root.delete(store_root.join(path, store_root.META_DIR, INCOMPLETE))


# --- build -----------------------------------------------------------------------------------------------


def add_dataset_branches(
    pipeline, plan: DatasetLaunch, dicom_filter=None, fhir_filter=None, builders: dict | None = None,
    fhir_join: str = "side",
) -> list[str]:
    """One branch per store, all with the plan's keys and policies; returns the counter labels, in store order."""
    builders = builders or branch_builders()
    policies = plan.policies
    context = _dicom_context(pipeline, plan)
    for store in plan.stores:
        label = store.label
        prefix = f"errors-{store.kind}-{store.store_id}"
        policy = policies[store.kind]
        if store.kind == "dicomStores":
            result = _add_dicom_branch(pipeline, builders["dicomStores"], store, policy, plan.keys, dicom_filter)
        else:
            extra = {"resource_filter": fhir_filter} if fhir_filter is not None else {}
            if context is not None:
                extra["patient_context"] = context
            result = builders[store.kind](
                pipeline,
                store.source_path,
                store.destination_path,
                store.run_dir,
                policy,
                plan.keys,
                label=label,
                join=fhir_join,
                **extra,
            )
        errors = getattr(result, "errors", None)
        if errors is not None:
            from transforms.beam import WriteErrorRecords

            errors | f"Write dataset errors {label}" >> WriteErrorRecords(plan.run_dir, prefix)
    return plan.labels


def _dicom_context(pipeline, plan: DatasetLaunch):
    """The DICOM identifiers of the dataset as FHIR context (``pipelines.dataset_context``): a transform each FHIR
    branch applies, or None when the run has no DICOM store or no FHIR store (nothing to link)."""
    dicom = plan.stores_of("dicomStores")
    if not dicom or not plan.stores_of("fhirStores"):
        return None
    from pipelines.dataset_context import DicomIdentifiers, LinkDicomContext

    links = pipeline | "DICOM identifiers" >> DicomIdentifiers([s.source_path for s in dicom])
    return LinkDicomContext(links)


def _add_dicom_branch(pipeline, builder, store: StoreRun, policy, keys: Keys, dicom_filter):
    extra = {"dicom_filter": dicom_filter} if dicom_filter is not None else {}
    return builder(
        pipeline, store.source_path, store.destination_path, store.run_dir, policy, keys, label=store.label, **extra
    )
