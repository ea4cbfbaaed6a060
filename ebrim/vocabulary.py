"""The XDS/ebRIM vocabulary: namespaces and the protocol URIs/UUIDs as Enums.

Every identifier a message carries (object types, classification schemes, association
types, statuses) is spelled here once; the rest of the project names the Enum member.
"""

from __future__ import annotations

from enum import StrEnum


class Namespace(StrEnum):
    RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
    RS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
    LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
    QUERY = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
    XDSB = "urn:ihe:iti:xds-b:2007"
    RMD = "urn:ihe:iti:rmd:2017"
    XML = "http://www.w3.org/XML/1998/namespace"


class ObjectType(StrEnum):
    """objectType of ExtrinsicObjects and nodes that classify RegistryPackages."""

    STABLE_DOCUMENT = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
    ON_DEMAND_DOCUMENT = "urn:uuid:34268e47-fdf5-41a6-ba33-82133c465248"
    SUBMISSION_SET = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
    FOLDER = "urn:uuid:d9d542f3-6cc4-48b6-8870-ea235fbc94c2"
    REGISTRY_PACKAGE = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:RegistryPackage"
    ASSOCIATION = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Association"
    CLASSIFICATION = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Classification"
    EXTERNAL_IDENTIFIER = (
        "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:ExternalIdentifier"
    )


DOCUMENT_ENTRY_TYPES = frozenset({ObjectType.STABLE_DOCUMENT, ObjectType.ON_DEMAND_DOCUMENT})


class ClassificationScheme(StrEnum):
    """Schemes of the coded and author attributes (Classification@classificationScheme)."""

    DOC_AUTHOR = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d"
    DOC_CLASS_CODE = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"
    DOC_CONFIDENTIALITY_CODE = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"
    DOC_EVENT_CODE = "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4"
    DOC_FORMAT_CODE = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d"
    DOC_HEALTHCARE_FACILITY_TYPE_CODE = "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1"
    DOC_PRACTICE_SETTING_CODE = "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead"
    DOC_TYPE_CODE = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
    SS_AUTHOR = "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d"
    SS_CONTENT_TYPE_CODE = "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500"
    FOLDER_CODE_LIST = "urn:uuid:1ba97051-7806-41a8-a48b-8fce7af683c5"
    # ITI TF-3 4.2.2 "Association documentation": why a link (RPLC, APND, XFRM…) was made.
    ASSOCIATION_DOCUMENTATION = "urn:uuid:abd807a3-4432-4053-87b4-fd82c643d1f3"


class ExternalIdentifierScheme(StrEnum):
    """Schemes of ExternalIdentifier@identificationScheme."""

    DOC_PATIENT_ID = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
    DOC_UNIQUE_ID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
    SS_PATIENT_ID = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
    SS_UNIQUE_ID = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"
    SS_SOURCE_ID = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"
    FOLDER_PATIENT_ID = "urn:uuid:f64ffdf0-4b97-4e06-b79f-a52b38ec2f8a"
    FOLDER_UNIQUE_ID = "urn:uuid:75df8f67-9973-4fbe-a900-df66cefecc5a"


# The Name each ExternalIdentifier carries on the wire (ITI TF-3 4.2.3).
EXTERNAL_IDENTIFIER_NAMES = {
    ExternalIdentifierScheme.DOC_PATIENT_ID: "XDSDocumentEntry.patientId",
    ExternalIdentifierScheme.DOC_UNIQUE_ID: "XDSDocumentEntry.uniqueId",
    ExternalIdentifierScheme.SS_PATIENT_ID: "XDSSubmissionSet.patientId",
    ExternalIdentifierScheme.SS_UNIQUE_ID: "XDSSubmissionSet.uniqueId",
    ExternalIdentifierScheme.SS_SOURCE_ID: "XDSSubmissionSet.sourceId",
    ExternalIdentifierScheme.FOLDER_PATIENT_ID: "XDSFolder.patientId",
    ExternalIdentifierScheme.FOLDER_UNIQUE_ID: "XDSFolder.uniqueId",
}

# Classification node marking an object as having limited metadata (ITI TF-3 4.2.3.1.4).
DOC_LIMITED_METADATA = "urn:uuid:ab9b591b-83ab-4d03-8f5d-f93b1fb92e85"
SS_LIMITED_METADATA = "urn:uuid:5003a9db-8d8d-49e6-bf0c-990e34ac7707"
FOLDER_LIMITED_METADATA = "urn:uuid:2c144a76-29a9-4b7c-af54-b25409fe7d03"


class AssociationType(StrEnum):
    HAS_MEMBER = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
    REPLACE = "urn:ihe:iti:2007:AssociationType:RPLC"
    TRANSFORM = "urn:ihe:iti:2007:AssociationType:XFRM"
    APPEND = "urn:ihe:iti:2007:AssociationType:APND"
    TRANSFORM_REPLACE = "urn:ihe:iti:2007:AssociationType:XFRM_RPLC"
    SIGNS = "urn:ihe:iti:2007:AssociationType:signs"
    IS_SNAPSHOT_OF = "urn:ihe:iti:2010:AssociationType:IsSnapshotOf"
    UPDATE_AVAILABILITY_STATUS = "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus"
    SUBMIT_ASSOCIATION = "urn:ihe:iti:2010:AssociationType:SubmitAssociation"


# Associations that link one DocumentEntry to another (document relationships).
DOCUMENT_RELATIONSHIPS = frozenset(
    {
        AssociationType.REPLACE,
        AssociationType.TRANSFORM,
        AssociationType.APPEND,
        AssociationType.TRANSFORM_REPLACE,
        AssociationType.SIGNS,
    }
)


class SubmissionSetStatus(StrEnum):
    """Slot SubmissionSetStatus of a SubmissionSet-to-DocumentEntry HasMember."""

    ORIGINAL = "Original"
    REFERENCE = "Reference"


class AvailabilityStatus(StrEnum):
    APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
    DEPRECATED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"
    SUBMITTED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Submitted"
    # French DMP (CI-SIS) extensions, set through ITI-57.
    ARCHIVED = "urn:asip:ci-sis:2010:StatusType:Archived"
    DELETED = "urn:asip:ci-sis:2010:StatusType:Deleted"


class ResponseStatus(StrEnum):
    SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
    FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
    PARTIAL_SUCCESS = "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess"


class Severity(StrEnum):
    ERROR = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"
    WARNING = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Warning"


class ReturnType(StrEnum):
    OBJECT_REF = "ObjectRef"
    LEAF_CLASS = "LeafClass"


class DocumentAvailability(StrEnum):
    ONLINE = "urn:ihe:iti:2010:DocumentAvailability:Online"
    OFFLINE = "urn:ihe:iti:2010:DocumentAvailability:Offline"
