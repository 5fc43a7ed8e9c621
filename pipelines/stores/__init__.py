"""Where stores live: store-root folders (local or gs://) and other backends."""
