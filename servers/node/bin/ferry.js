#!/usr/bin/env node
// Launcher kept outside dist/ so npm can link the bin before the first build.
import "../dist/bin/ferry.js";
