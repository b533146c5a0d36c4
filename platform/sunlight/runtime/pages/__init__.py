"""The page framework shared by every role's pages (docs/pages.md): a Jinja2 environment
with autoescaping and inert hostile text (:mod:`.templating`), the base layout, form
macros and error page (``templates/pages/``), one stylesheet (``static/pages.css``),
sessions and refusals (:mod:`.sessions`), the security headers, cookies and CSRF check
(:mod:`.security`), the route class and site (:mod:`.site`), and form validation with
Chinese messages (:mod:`.forms`)."""
