"""OpenAPI 3.1 description of /api, generated from the pydantic models (never hand-copied)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from chalicelib.schemas.activites import ActiviteIn, ActiviteOut, ActivitesPage
from chalicelib.schemas.beneficiaires import BeneficiaireIn, BeneficiaireOut, BeneficiairesPage
from chalicelib.schemas.exports import ExportIn, ExportOut, ExportsPage
from chalicelib.schemas.lieux import CommuneOut, LieuIn, LieuOut, LieuxPage, Moi
from chalicelib.schemas.partages import PartageIn, PartageOut, PartagesPage
from chalicelib.schemas.statistiques import Statistiques


class Erreurs(BaseModel):
    message: str
    errors: dict[str, str] | None = Field(default=None, description="Champ → message en français")


MODELS: tuple[type[BaseModel], ...] = (
    ActiviteIn,
    ActiviteOut,
    ActivitesPage,
    BeneficiaireIn,
    BeneficiaireOut,
    BeneficiairesPage,
    ExportIn,
    ExportOut,
    ExportsPage,
    LieuIn,
    LieuOut,
    Moi,
    CommuneOut,
    LieuxPage,
    Statistiques,
    Erreurs,
    PartageIn,
    PartageOut,
    PartagesPage,
)
REF = "#/components/schemas/{model}"


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _errors() -> dict[str, Any]:
    return {
        "401": {"description": "Non connecté", **_json(_ref(Erreurs))},
        "403": {"description": "Jeton CSRF absent ou requête inter-sites", **_json(_ref(Erreurs))},
        "404": {
            "description": "Inconnu ou appartenant à un autre médiateur",
            **_json(_ref(Erreurs)),
        },
        "409": {"description": "Version périmée (modifié entre-temps)", **_json(_ref(Erreurs))},
        "422": {"description": "Données invalides", **_json(_ref(Erreurs))},
    }


def _ok(status: str, model: type[BaseModel] | dict[str, Any], description: str) -> dict[str, Any]:
    schema = _ref(model) if isinstance(model, type) else model
    return {status: {"description": description, **_json(schema)}, **_errors()}


def _query(*names: str) -> list[dict[str, Any]]:
    return [
        {"name": n, "in": "query", "required": False, "schema": {"type": "string"}} for n in names
    ]


ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]


def _statistiques_parameters(with_lieu: bool = True) -> list[dict[str, Any]]:
    from chalicelib.domain import vocab
    from chalicelib.domain.dates import PERIODES

    def param(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
        return {
            "name": name,
            "in": "query",
            "required": False,
            "schema": schema,
            "description": description,
        }

    day = {"type": "string", "format": "date"}
    return [
        param(
            "periode",
            {"type": "string", "enum": list(PERIODES)},
            "Période prédéfinie (par défaut : cette_annee, du 1er janvier à aujourd'hui) ;"
            " `du` / `au` l'emportent sur elle",
        ),
        param("du", day, "Premier jour (AAAA-MM-JJ, pas avant 2020-01-01)"),
        param("au", day, "Dernier jour (AAAA-MM-JJ, pas avant `du`)"),
        param("type", {"type": "string", "enum": list(vocab.TYPES_ACTIVITE)}, "Type d'activité"),
        param("canal", {"type": "string", "enum": list(vocab.CANAUX)}, "Canal"),
        *(
            [param("lieu", {"type": "string"}, "Identifiant d'un de mes lieux d'activité")]
            if with_lieu
            else []
        ),
    ]


def _paths() -> dict[str, Any]:
    activite_body = {"required": True, **_json(_ref(ActiviteIn))}
    lieu_body = {"required": True, **_json(_ref(LieuIn))}
    beneficiaire_body = {"required": True, **_json(_ref(BeneficiaireIn))}
    filters = _query("du", "au", "type", "canal", "lieu", "beneficiaire", "thematique", "cursor")
    return {
        "/api/moi": {
            "get": {"summary": "Le médiateur connecté", "responses": _ok("200", Moi, "Profil")}
        },
        "/api/communes": {
            "get": {
                "summary": "Recherche de communes (nom ou code postal, sans accents)",
                "parameters": _query("q"),
                "security": [],
                "responses": _ok("200", {"type": "array", "items": _ref(CommuneOut)}, "Communes"),
            }
        },
        "/api/lieux": {
            "get": {
                "summary": "Mes lieux d'activité",
                "responses": _ok("200", LieuxPage, "Lieux"),
            },
            "post": {
                "summary": "Ajouter un lieu",
                "requestBody": lieu_body,
                "responses": _ok("201", LieuOut, "Créé"),
            },
        },
        "/api/lieux/{id}": {
            "parameters": ID,
            "get": {"summary": "Un lieu", "responses": _ok("200", LieuOut, "Lieu")},
            "put": {
                "summary": "Modifier un lieu",
                "requestBody": lieu_body,
                "responses": _ok("200", LieuOut, "Lieu"),
            },
            "delete": {"summary": "Archiver un lieu", "responses": _ok("200", LieuOut, "Archivé")},
        },
        "/api/activites": {
            "get": {
                "summary": "Mes activités, les plus récentes d'abord",
                "parameters": filters,
                "responses": _ok("200", ActivitesPage, "Une page"),
            },
            "post": {
                "summary": "Enregistrer une activité",
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string"},
                    }
                ],
                "requestBody": activite_body,
                "responses": _ok("201", ActiviteOut, "Créée (ou déjà créée avec la même clé)"),
            },
        },
        "/api/activites/{id}": {
            "parameters": ID,
            "get": {"summary": "Une activité", "responses": _ok("200", ActiviteOut, "Activité")},
            "put": {
                "summary": "Remplacer une activité (le corps porte `version`)",
                "requestBody": activite_body,
                "responses": _ok("200", ActiviteOut, "Modifiée"),
            },
            "delete": {
                "summary": "Supprimer une activité",
                "parameters": _query("version"),
                "responses": {"204": {"description": "Supprimée"}, **_errors()},
            },
        },
        "/api/statistiques": {
            "get": {
                "summary": "Mes statistiques (SPEC §5) pour une période et des filtres",
                "description": "Paramètre inconnu (type, canal, lieu), date invalide ou `du`"
                " après `au` : 422 avec un message par paramètre.",
                "parameters": _statistiques_parameters(),
                "responses": _ok("200", Statistiques, "Les chiffres"),
            }
        },
        "/api/structure/statistiques": {
            "get": {
                "summary": "Les statistiques de ma structure (gestionnaires) : la somme de"
                " celles de ses médiateurs, sans aucun bénéficiaire",
                "description": "Mêmes paramètres que /api/statistiques, sans `lieu` (les lieux"
                " sont ceux de chaque médiateur). 403 pour qui n'est pas gestionnaire.",
                "parameters": _statistiques_parameters(with_lieu=False),
                "responses": _ok("200", Statistiques, "Les chiffres"),
            }
        },
        "/api/beneficiaires": {
            "get": {
                "summary": "Mes bénéficiaires : recherche (q, par pertinence) ou liste triée",
                "description": "`q` : chaque mot doit commencer un mot du prénom, du nom, de la"
                " commune, de l'e-mail ou du téléphone (sans tenir compte des accents). Sans `q`,"
                " `tri` vaut nom (par défaut), prenom, annee ou accompagnements ; `cursor` est"
                " celui de la réponse précédente.",
                "parameters": _query("q", "tri", "cursor"),
                "responses": _ok("200", BeneficiairesPage, "Une page"),
            },
            "post": {
                "summary": "Créer un bénéficiaire",
                "requestBody": beneficiaire_body,
                "responses": _ok("201", BeneficiaireOut, "Créé"),
            },
        },
        "/api/exports": {
            "get": {
                "summary": "Mes exports (et, pour un gestionnaire, ceux de sa structure)",
                "responses": _ok("200", ExportsPage, "Les plus récents d'abord"),
            },
            "post": {
                "summary": "Demander un export (préparé en arrière-plan)",
                "description": "`kind` : activites (filtres de la liste) ou beneficiaires"
                " (`filters.q`, la recherche) ; `scope` structure réservé aux gestionnaires"
                " (403 sinon). Le fichier est prêt quand `statut` vaut pret : `url` est alors"
                " un lien signé valable quelques minutes.",
                "requestBody": {"required": True, **_json(_ref(ExportIn))},
                "responses": _ok("202", ExportOut, "Demandé (en attente)"),
            },
        },
        "/api/exports/{id}": {
            "parameters": ID,
            "get": {
                "summary": "Un export : statut, progression et, s'il est prêt, `url`",
                "responses": _ok("200", ExportOut, "Export"),
            },
        },
        "/api/beneficiaires/{id}": {
            "parameters": ID,
            "get": {
                "summary": "Un bénéficiaire",
                "responses": _ok("200", BeneficiaireOut, "Bénéficiaire"),
            },
            "put": {
                "summary": "Remplacer un bénéficiaire (le corps porte `version`)",
                "requestBody": beneficiaire_body,
                "responses": _ok("200", BeneficiaireOut, "Modifié"),
            },
            "delete": {
                "summary": "Supprimer un bénéficiaire : ses données identifiantes sont effacées,"
                " ses activités passées restent comptées",
                "responses": {"204": {"description": "Supprimé"}, **_errors()},
            },
        },
        **_partages_paths(),
    }


def _partages_paths() -> dict[str, Any]:
    """Share links of the statistics (SPEC §5 « Partager »); the public page /s/{jeton} is
    HTML only."""
    return {
        "/api/statistiques/partages": {
            "get": {
                "summary": "Mes liens de partage des statistiques (et, pour un gestionnaire,"
                " ceux de sa structure), les plus récents d'abord, sans leur URL",
                "responses": _ok("200", PartagesPage, "Les liens"),
            },
            "post": {
                "summary": "Créer un lien de partage en lecture seule des statistiques",
                "description": "`filters` : les paramètres de /api/statistiques (une période"
                " prédéfinie suit la date du jour). L'URL publique n'est donnée qu'ici : seule"
                " l'empreinte de son jeton est conservée. `portee` structure réservée aux"
                " gestionnaires (403 sinon).",
                "requestBody": {"required": True, **_json(_ref(PartageIn))},
                "responses": _ok("201", PartageOut, "Créé, avec son `url`"),
            },
        },
        "/api/statistiques/partages/{id}": {
            "parameters": ID,
            "delete": {
                "summary": "Révoquer un lien : il répond 404 aussitôt",
                "responses": {"204": {"description": "Révoqué"}, **_errors()},
            },
        },
    }


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    _, schemas = models_json_schema([(m, "validation") for m in MODELS], ref_template=REF)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Coop — API",
            "version": "1",
            "description": "Mêmes règles que les formulaires. Authentification par le cookie"
            " de session ; les écritures demandent l'en-tête X-CSRF-Token (voir /api/moi).",
        },
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "__Host-coop_session"}
            },
        },
        "security": [{"session": []}],
        "paths": _paths(),
    }
