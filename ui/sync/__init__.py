"""The shared server on the Qt side: the sync controller, its status bar widget, the sync window and the
Settings page where the server is entered."""
