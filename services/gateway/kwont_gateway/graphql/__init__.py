"""GraphQL (strawberry) at ``/graphql``, mounted beside the REST routers and calling the same
plain functions, with the same auth, ownership and rate rules."""
