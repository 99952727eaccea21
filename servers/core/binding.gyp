{
  "targets": [
    {
      "target_name": "socket_options",
      "sources": ["native/socket-options.c"]
    }
  ]
}
