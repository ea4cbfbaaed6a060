"""CI-SIS formatCode per CDA document model: data, not logic.

Source: ANS association tables (NOS), as published in the ANS "Terminologies de Santé"
implementation guide:

- ASS_A11-CorresModeleCDA-XdsFormatCode-CISIS (OID 1.2.250.1.213.1.1.4.331): a structured
  body (level 3) takes its formatCode from the templateId of its document model;
- ASS_A12-CorresMediaTypeCDANonStructure-XdsFormatCode-CISIS: a non-structured body
  (level 1, XDS-SD templateId 1.3.6.1.4.1.19376.1.2.20) takes it from the mediaType of
  component/nonXMLBody/text.

Codes urn:asip:… and urn:ans:… belong to TRE_A06-FormatCodeComplementaire, codes urn:ihe:…
to TRE_A11-IheFormatCode. Update this table when ANS publishes a new version.
"""

from __future__ import annotations

TRE_A06_FORMAT_CODE_COMPLEMENTAIRE = "1.2.250.1.213.1.1.4.2.282"
TRE_A11_IHE_FORMAT_CODE = "1.3.6.1.4.1.19376.1.2.3"

# ASS_A11: document model templateId -> formatCode.
FORMAT_CODE_BY_TEMPLATE_ID: dict[str, str] = {
    "1.2.250.1.213.1.1.1.2.1.1": "urn:asip:ci-sis:avk:2009",
    "1.2.250.1.213.1.1.1.2.1.2": "urn:asip:ci-sis:tap:2009",
    "1.2.250.1.213.1.1.1.2.1.3": "urn:asip:ci-sis:dci:2009",
    "1.2.250.1.213.1.1.1.2.1.4": "urn:asip:ci-sis:psc:2009",
    "1.2.250.1.213.1.1.1.2.1.5": "urn:asip:ci-sis:ppv:2009",
    "1.2.250.1.213.1.1.1.5.1": "urn:asip:ci-sis:cse-cs8:2017",
    "1.2.250.1.213.1.1.1.5.2": "urn:asip:ci-sis:cse-cs9:2017",
    "1.2.250.1.213.1.1.1.5.3": "urn:asip:ci-sis:cse-cs24:2017",
    "1.2.250.1.213.1.1.1.5.4": "urn:ans:ci-sis:cse-mde:2023",
    "1.2.250.1.213.1.1.1.8": "urn:asip:ci-sis:frcp:2011",
    "1.2.250.1.213.1.1.1.9": "urn:asip:ci-sis:idap:2011",
    "1.2.250.1.213.1.1.1.10": "urn:asip:ci-sis:cva:2017",
    "1.2.250.1.213.1.1.1.12.1": "urn:asip:ci-sis:obp-sap:2023",
    "1.2.250.1.213.1.1.1.12.2": "urn:asip:ci-sis:obp-snm:2023",
    "1.2.250.1.213.1.1.1.12.3": "urn:asip:ci-sis:obp-sne:2023",
    "1.2.250.1.213.1.1.1.12.4": "urn:asip:ci-sis:obp-scm:2023",
    "1.2.250.1.213.1.1.1.12.5": "urn:asip:ci-sis:obp-sem:2023",
    "1.2.250.1.213.1.1.1.13": "urn:asip:ci-sis:vsm:2012",
    "1.2.250.1.213.1.1.1.15": "urn:asip:ci-sis:aunv:2013",
    "1.2.250.1.213.1.1.1.16": "urn:asip:ci-sis:eunv:2013",
    "1.2.250.1.213.1.1.1.17": "urn:asip:ci-sis:sunv:2013",
    "1.2.250.1.213.1.1.1.18": "urn:asip:ci-sis:crrtn:2013",
    "1.2.250.1.213.1.1.1.20": "urn:asip:ci-sis:pps-paerpa:2017",
    "1.2.250.1.213.1.1.1.21": "urn:asip:ci-sis:ldl-ees:2017",
    "1.2.250.1.213.1.1.1.22": "urn:asip:ci-sis:dlu:2015",
    "1.2.250.1.213.1.1.1.23": "urn:asip:ci-sis:fludt:2017",
    "1.2.250.1.213.1.1.1.24": "urn:asip:ci-sis:fludr:2017",
    "1.2.250.1.213.1.1.1.25": "urn:asip:ci-sis:pavc:2016",
    "1.2.250.1.213.1.1.1.26": "urn:asip:ci-sis:pps-cancer:2017",
    "1.2.250.1.213.1.1.1.27": "urn:asip:ci-sis:d2lm-fin:2017",
    "1.2.250.1.213.1.1.1.28": "urn:asip:ci-sis:d2lm-fidd:2017",
    "1.2.250.1.213.1.1.1.29": "urn:asip:ci-sis:ldl-ses:2017",
    "1.2.250.1.213.1.1.1.30": "urn:asip:ci-sis:sdm-mr:2017",
    "1.2.250.1.213.1.1.1.32": "urn:asip:ci-sis:crgm:2018",
    "1.2.250.1.213.1.1.1.36": "urn:asip:ci-sis:hr:2019",
    "1.2.250.1.213.1.1.1.37": "urn:asip:ci-sis:vac:2019",
    "1.2.250.1.213.1.1.1.38": "urn:asip:ci-sis:tlm-da:2020",
    "1.2.250.1.213.1.1.1.40": "urn:asip:ci-sis:cr-anest:2020",
    "1.2.250.1.213.1.1.1.41": "urn:asip:ci-sis:cr-cpa:2020",
    "1.2.250.1.213.1.1.1.46": "urn:asip:ci-sis:vac-note:2021",
    "1.2.250.1.213.1.1.1.47": "urn:ans:ci-sis:img-da:2022",
    "1.2.250.1.213.1.1.1.48": "urn:asip:ci-sis:dlu-dlu-dom:2022",
    "1.2.250.1.213.1.1.1.49": "urn:asip:ci-sis:dlu-fludt-dom:2022",
    "1.2.250.1.213.1.1.1.50": "urn:asip:ci-sis:dlu-fludr-dom:2022",
    "1.2.250.1.213.1.1.1.52": "urn:ans:ci-sis:bio-ep-bio:2022",
    "1.2.250.1.213.1.1.1.56": "urn:asip:ci-sis:ppp:2023",
    "1.2.250.1.213.1.1.1.58": "urn:asip:ci-sis:export-dui:2023",
    "1.2.250.1.213.1.1.1.59": "urn:ans:ci-sis:trod:2024",
    "1.2.250.1.213.1.1.1.61": "urn:asip:ci-sis:ft-su:2024",
    "1.2.250.1.213.1.1.1.62": "urn:asip:ci-sis:fr-su:2024",
    # IHE content profiles (TRE_A11)
    "1.2.250.1.213.1.1.1.39": "urn:ihe:pharm:pre:2010",
    "1.2.250.1.213.1.1.1.54": "urn:ihe:pharm:dis:2010",
    "1.2.250.1.213.1.1.1.42": "urn:ihe:eyecare:geneyeevalcn:2014",
    "1.2.250.1.213.1.1.1.43": "urn:ihe:eyecare:geneyeevalcn:2014",
    "1.2.250.1.213.1.1.1.44": "urn:ihe:eyecare:geneyeevalcn:2014",
    "1.2.250.1.213.1.1.1.45": "urn:ihe:rad:CDA:ImagingReportStructuredHeadings:2013",
    "1.2.250.1.213.1.1.1.51": "urn:ihe:pcc:ips:2020",
    "1.2.250.1.213.1.1.1.55": "urn:ihe:lab:xd-lab:2008",
    "1.2.250.1.213.1.1.1.57": "urn:ihe:palm:apsr:2016",
    "1.3.6.1.4.1.19376.1.3.3": "urn:ihe:lab:xd-lab:2008",
    "1.3.6.1.4.1.19376.1.8.1.1.1": "urn:ihe:pat:apsr:all:2010",
}

# ASS_A12: nonXMLBody/text/@mediaType -> formatCode (TRE_A11).
FORMAT_CODE_BY_MEDIA_TYPE: dict[str, str] = {
    "application/pdf": "urn:ihe:iti:xds-sd:pdf:2008",
    "text/plain": "urn:ihe:iti:xds-sd:text:2008",
    "text/rtf": "urn:ihe:iti-fr:xds-sd:rtf:2010",
    "image/jpeg": "urn:ihe:iti-fr:xds-sd:jpeg:2010",
    "image/tiff": "urn:ihe:iti-fr:xds-sd:tiff:2010",
}
