"""The review app's URL map: the routers of the route modules (:data:`ROUTERS`).  URLs carry only ids
(documents by id, fields by their numeric id).  What the routes share (the logged-in user, CSRF,
rendering) is in :mod:`jimu.review.web`.

Pages (GET, login required → otherwise a redirect to /login):
  /                                   → /worklist                                       login_routes
  /login                              login form                                        login_routes
  /worklist?form=&batch=&ward=        documents waiting for review, oldest first;       worklist_routes
                                      counts per reason
  /next                               the oldest document this user can work on now     worklist_routes
  /me                                 this operator's own figures                       worklist_routes
  /documents/{doc_id}                 review page / blind second entry page (by stage)  document_routes
  /supervisor?days=                   throughput and corrections per operator; the      supervisor_routes
                                      mismatch queue [supervisor]
  /supervisor/audit                   the audit log [supervisor]                        supervisor_routes
  /supervisor/documents/{doc_id}      decide a double-entry mismatch [supervisor]       supervisor_routes
Images (GET, login required → otherwise 401):                                           image_routes
  /documents/{doc_id}/fields/{field_pk}/crop.png
  /documents/{doc_id}/page.png
Posts (login + CSRF token required → otherwise 401 / 403):
  /login, /logout                                                                       login_routes
  /documents/{doc_id}/approve | /skip | /reject | /second-entry                         document_routes
  /supervisor/documents/{doc_id}/decide                                                 supervisor_routes
  /api/documents/{doc_id}/fields/{field_pk}     JSON {"value": text}; X-CSRF-Token      document_routes
  /api/documents/{doc_id}/lock                  keep the lock while the page is open    document_routes

The app adds :mod:`jimu.review.handoff_routes` (postpone, escalate, assign, unlock, take back) and
:mod:`jimu.review.form_editor` (様式) beside this router.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter

from jimu.review import document_routes, image_routes, login_routes, supervisor_routes, worklist_routes

ROUTERS: Final[tuple[APIRouter, ...]] = (login_routes.router, worklist_routes.router, document_routes.router,
                                         image_routes.router, supervisor_routes.router)
