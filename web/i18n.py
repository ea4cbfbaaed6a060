"""The portal's words in French (first) and English.

Texts are written in English in the templates and the code, as keys; `FRENCH` gives each
its French. A page is French unless the visitor chose English (`?lang=en`, kept in a
cookie), and a text without a French entry shows in English rather than not at all
(a test checks that every text of the portal's templates has its French).
"""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("fr", "en")
DEFAULT = "fr"
LANG_COOKIE = "xds_lang"

FRENCH = {
    # the frame
    "My health record": "Mon dossier médical",
    "My documents": "Mes documents",
    "Who opened my record": "Qui a consulté mon dossier",
    "Who may open it": "Qui peut le consulter",
    "Log out": "Me déconnecter",
    "Log in": "Connexion",
    "Record": "Dossier",
    "Language": "Langue",
    "Open the login link you were given. Links are valid for a few minutes and open one session.": (
        "Ouvrez le lien de connexion qui vous a été remis. Un lien est valable quelques minutes "
        "et n'ouvre qu'une session."
    ),
    "Login links are off.": "Les liens de connexion sont désactivés.",
    "Log in with my health identity": "Me connecter avec mon identité santé",
    "Continue to my record": "Continuer vers mon dossier",
    "The identity service cannot be reached.": "Le service d'identité ne répond pas.",
    "This login has expired: start again.": "Cette connexion a expiré : recommencez.",
    "Your identity could not be verified.": "Votre identité n'a pas pu être vérifiée.",
    "This link is used or expired.": "Ce lien a déjà servi ou a expiré.",
    "Back to my documents": "Retour à mes documents",
    "Nothing here.": "Rien ici.",
    "This form has expired or did not come from this site.": (
        "Ce formulaire a expiré ou ne vient pas de ce site."
    ),
    # documents
    "No document in your record.": "Aucun document dans votre dossier.",
    "Document": "Document",
    "Type": "Type",
    "Author": "Auteur",
    "Establishment": "Établissement",
    "Date": "Date",
    "Status": "Statut",
    "Professionals": "Professionnels",
    "hidden from professionals": "masqué aux professionnels",
    "Show to professionals": "Rendre visible aux professionnels",
    "Hide from professionals": "Masquer aux professionnels",
    "(untitled)": "(sans titre)",
    "No such document in your record.": "Ce document n'est pas dans votre dossier.",
    "This document cannot be read.": "Ce document ne peut pas être lu.",
    "Not done:": "Non effectué :",
    # history
    "When (UTC)": "Quand (UTC)",
    "What happened": "Ce qui s'est passé",
    "Reason given": "Motif donné",
    "You": "Vous",
    "A legal representative": "Un représentant légal",
    "Acting for the patient as their legal representative:": (
        "Vous agissez pour le patient en tant que représentant légal :"
    ),
    "someone": "quelqu'un",
    "looked for documents in your record": "a cherché des documents dans votre dossier",
    "opened a document": "a ouvert un document",
    "added a document": "a ajouté un document",
    "changed a document": "a modifié un document",
    "deleted a document": "a supprimé un document",
    "in an emergency": "en urgence",
    "refused": "refusé",
    # record
    "My record": "Mon dossier",
    "Your record is": "Votre dossier est",
    "open": "ouvert",
    "closed": "fermé",
    "none": "inexistant",
    "You oppose access in an emergency (bris de glace).": (
        "Vous vous opposez à l'accès en urgence (bris de glace)."
    ),
    "Professionals may open it in an emergency (bris de glace); they must give a reason, which you will read here.": (  # noqa: E501
        "Les professionnels peuvent le consulter en urgence (bris de glace) ; ils doivent en "
        "donner le motif, que vous lirez ici."
    ),
    "Professionals you authorised": "Professionnels que vous avez autorisés",
    "Who": "Qui",
    "Kind": "Type",
    "Since": "Depuis",
    "Until": "Jusqu'au",
    "Withdraw": "Retirer",
    "Nobody.": "Personne.",
    "Professionals you blocked": "Professionnels que vous avez bloqués",
    "Unblock": "Débloquer",
    "Block a professional (RPPS identifier)": "Bloquer un professionnel (identifiant RPPS)",
    "Block": "Bloquer",
    "Emergency access": "Accès en urgence",
    "Allow emergency access again": "Autoriser de nouveau l'accès en urgence",
    "Oppose emergency access": "M'opposer à l'accès en urgence",
    "Give the professional's identifier (RPPS).": "Indiquez l'identifiant du professionnel (RPPS).",
    "Consent and closing": "Consentement et fermeture",
    "Your record is closed: no professional can read it. Its documents are kept.": (
        "Votre dossier est fermé : aucun professionnel ne peut le consulter. "
        "Ses documents sont conservés."
    ),
    "Reopen my record (I consent again)": "Rouvrir mon dossier (je donne de nouveau mon accord)",
    "Closing your record withdraws your consent: no professional can read it any more. "
    "Its documents are kept, and you can reopen it.": (
        "Fermer votre dossier retire votre accord : aucun professionnel ne pourra plus le "
        "consulter. Ses documents sont conservés, et vous pourrez le rouvrir."
    ),
    "I want to close my record": "Je veux fermer mon dossier",
    "Close my record": "Fermer mon dossier",
    "Tick the box to confirm that you close your record.": (
        "Cochez la case pour confirmer la fermeture de votre dossier."
    ),
    # the professional's pages
    "A patient's documents": "Les documents d'un patient",
    "Patient (INS)": "Patient (INS)",
    "Access": "Accès",
    "Normal access": "Accès normal",
    "Emergency: break the glass": "Urgence : bris de glace",
    "Emergency regulation (centre 15)": "Régulation (centre 15)",
    "Shared health record: professional access": "Dossier médical partagé : accès professionnel",
    "Criteria (optional)": "Critères (facultatifs)",
    "Document type": "Type de document",
    "Any": "Tous",
    "Created from": "Créé du",
    "to": "au",
    "Author's name": "Nom de l'auteur",
    "Include replaced versions": "Inclure les versions remplacées",
    "Choose the document type in the list.": "Choisissez le type de document dans la liste.",
    "The period ends before it starts.": "La période finit avant de commencer.",
    "A date is written YYYY-MM-DD.": "Une date s'écrit AAAA-MM-JJ.",
    "Reason (required in an emergency: the patient will read it)": (
        "Motif (obligatoire en urgence : le patient le lira)"
    ),
    "Search": "Rechercher",
    "Open": "Ouvrir",
    "403 — a professional's card is needed": "403 — une carte de professionnel est nécessaire",
    "These pages open with your personal authentication certificate (your CPS card): the browser must present it.": (  # noqa: E501
        "Ces pages s'ouvrent avec votre certificat personnel d'authentification (votre carte "
        "CPS) : le navigateur doit le présenter."
    ),
    "This form has expired: search again.": "Ce formulaire a expiré : recherchez de nouveau.",
}


def translator(language: str) -> Callable[[str], str]:
    """The `t` of a page: French by default, English on request."""
    if language == "en":
        return lambda text: text
    return lambda text: FRENCH.get(text, text)


def language_of(query_lang: str | None, cookie_lang: str | None) -> str:
    for wanted in (query_lang, cookie_lang):
        if wanted in LANGUAGES:
            return str(wanted)
    return DEFAULT


__all__ = ["DEFAULT", "FRENCH", "LANGUAGES", "LANG_COOKIE", "language_of", "translator"]
