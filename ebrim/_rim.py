"""ebRIM 3.0 element and slot names shared by `ebrim.parse` and `ebrim.render`."""

from __future__ import annotations

from ebrim.vocabulary import AssociationType, Namespace, ResponseStatus, Severity

RIM = Namespace.RIM.value
RS = Namespace.RS.value
LCM = Namespace.LCM.value
QUERY = Namespace.QUERY.value
XML_LANG = f"{{{Namespace.XML.value}}}lang"

NSMAP = {"rim": RIM, "rs": RS, "lcm": LCM, "query": QUERY}


def rim(local: str) -> str:
    return f"{{{RIM}}}{local}"


SUBMIT_OBJECTS_REQUEST = f"{{{LCM}}}SubmitObjectsRequest"
ADHOC_QUERY_RESPONSE = f"{{{QUERY}}}AdhocQueryResponse"
REGISTRY_RESPONSE = f"{{{RS}}}RegistryResponse"
REGISTRY_ERROR_LIST = f"{{{RS}}}RegistryErrorList"
REGISTRY_ERROR = f"{{{RS}}}RegistryError"
RESPONSE_SLOT_LIST = f"{{{RS}}}ResponseSlotList"

REGISTRY_OBJECT_LIST = rim("RegistryObjectList")
EXTRINSIC_OBJECT = rim("ExtrinsicObject")
REGISTRY_PACKAGE = rim("RegistryPackage")
ASSOCIATION = rim("Association")
CLASSIFICATION = rim("Classification")
EXTERNAL_IDENTIFIER = rim("ExternalIdentifier")
OBJECT_REF = rim("ObjectRef")
SLOT = rim("Slot")
VALUE_LIST = rim("ValueList")
VALUE = rim("Value")
NAME = rim("Name")
DESCRIPTION = rim("Description")
LOCALIZED_STRING = rim("LocalizedString")
VERSION_INFO = rim("VersionInfo")

# Slot names (ITI TF-3 4.2.3.2-4.2.3.4).
CREATION_TIME = "creationTime"
HASH = "hash"
SIZE = "size"
LANGUAGE_CODE = "languageCode"
LEGAL_AUTHENTICATOR = "legalAuthenticator"
REPOSITORY_UNIQUE_ID = "repositoryUniqueId"
SERVICE_START_TIME = "serviceStartTime"
SERVICE_STOP_TIME = "serviceStopTime"
SOURCE_PATIENT_ID = "sourcePatientId"
SOURCE_PATIENT_INFO = "sourcePatientInfo"
URI = "URI"
REFERENCE_ID_LIST = "urn:ihe:iti:xds:2013:referenceIdList"
DOCUMENT_AVAILABILITY = "documentAvailability"
SUBMISSION_TIME = "submissionTime"
INTENDED_RECIPIENT = "intendedRecipient"
LAST_UPDATE_TIME = "lastUpdateTime"
SUBMISSION_SET_STATUS = "SubmissionSetStatus"
CODING_SCHEME = "codingScheme"
AUTHOR_PERSON = "authorPerson"
AUTHOR_INSTITUTION = "authorInstitution"
AUTHOR_ROLE = "authorRole"
AUTHOR_SPECIALTY = "authorSpecialty"
AUTHOR_TELECOMMUNICATION = "authorTelecommunication"

# Short forms found in older or sloppy messages (the official IHE example uses "HasMember").
SHORT_ASSOCIATION_TYPES = {"HasMember": AssociationType.HAS_MEMBER.value}
SHORT_RESPONSE_STATUSES = {
    "Success": ResponseStatus.SUCCESS,
    "Failure": ResponseStatus.FAILURE,
    "PartialSuccess": ResponseStatus.PARTIAL_SUCCESS,
}
SHORT_SEVERITIES = {"Error": Severity.ERROR, "Warning": Severity.WARNING}
