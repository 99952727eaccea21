#!/usr/bin/env node
// Launcher kept outside dist/ so npm can link the bins before the first build; the command name
// (stop_<id>, start_<id>) tells dist/bin/console.js what to do.
import "../dist/bin/console.js";
