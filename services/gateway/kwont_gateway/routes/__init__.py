"""One router module per resource; each calls the plain functions GraphQL calls too."""
