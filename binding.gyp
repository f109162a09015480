{
  "targets": [
    {
      "target_name": "pofhot",
      "sources": ["native/pofhot.c"],
      "cflags": ["-O2", "-Wall", "-Wno-deprecated-declarations"]
    }
  ]
}
