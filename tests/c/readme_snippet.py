"""Compiles and runs the README's C example, so the documented code works
when copied. Usage: readme_snippet.py README SDK_PREFIX WORK_DIR

The snippet is the first ```c block; it is wrapped in main() (its #include
lines kept at the top) and built with gcc against the SDK."""

import os
import re
import subprocess
import sys

readme, sdk, work = (os.path.abspath(p) for p in sys.argv[1:4])
text = open(readme, encoding="utf-8").read()
match = re.search(r"```c\n(.*?)```", text, re.S)
if not match:
    sys.exit("no ```c block in the README")
lines = match.group(1).splitlines()
includes = [l for l in lines if l.startswith("#include")]
body = [l for l in lines if not l.startswith("#include")]
os.makedirs(work, exist_ok=True)
src = os.path.join(work, "readme_example.c")
with open(src, "w", encoding="utf-8") as f:
    f.write("\n".join(includes) + "\nint main(void) {\n" + "\n".join(body) + "\nreturn 0;\n}\n")
exe = os.path.join(work, "readme_example")
subprocess.run(
    ["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", f"-I{sdk}/include", src,
     f"-L{sdk}/lib", "-lagtrace", f"-Wl,-rpath,{sdk}/lib", "-o", exe],
    check=True,
)
env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGTRACE_"))}
env["AGTRACE_EXPORTERS"] = "console"
out = subprocess.run([exe], check=True, capture_output=True, text=True, env=env, cwd=work).stdout
if "chat gpt-4o [llm]" not in out or "tokens in=120 out=40" not in out:
    sys.exit(f"unexpected output:\n{out}")
print(out)
