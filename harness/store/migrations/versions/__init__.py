"""The run store's schema revisions, oldest first: 0001 the first release, 0002 the service, 0003 its queue."""
