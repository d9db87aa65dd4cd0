package main

import "os"

func main() { _, _ = os.LookupEnv("TOOL_READ") }
