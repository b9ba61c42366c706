# Registers the Alto agent as a Windows service (run in an elevated PowerShell).
#   .\install-windows-service.ps1 -InstallDir 'C:\Program Files\Alto Agent' -StateDir 'C:\ProgramData\AltoAgent'
# Enroll first:  alto-agent.exe enroll --gateway https://gateway:8080 --grpc https://gateway:8081 --token alto_enroll_... --state-dir <StateDir>
param(
    [string]$InstallDir = "$env:ProgramFiles\Alto Agent",
    [string]$StateDir = "$env:ProgramData\AltoAgent"
)
$ErrorActionPreference = 'Stop'
$exe = Join-Path $InstallDir 'alto-agent.exe'
if (-not (Test-Path $exe)) { throw "alto-agent.exe not found in $InstallDir (dotnet publish agent/Alto.Agent -c Release -r win-x64 -o <dir>)" }
if (-not (Test-Path (Join-Path $StateDir 'credential.json'))) { throw "not enrolled: run alto-agent.exe enroll --state-dir `"$StateDir`" first" }

# Only SYSTEM and administrators may read the credential.
icacls $StateDir /inheritance:r /grant:r 'SYSTEM:(OI)(CI)F' 'Administrators:(OI)(CI)F' | Out-Null

New-Service -Name 'AltoAgent' -DisplayName 'Alto tiered-storage agent' `
    -BinaryPathName "`"$exe`" run --state-dir `"$StateDir`"" -StartupType Automatic `
    -Description 'Scans, tiers and recalls files for Alto.'
# Restart after a failure (5 s, three times a day at most); a refused credential (exit 3) still needs an admin.
sc.exe failure AltoAgent reset= 86400 actions= restart/5000/restart/5000/restart/5000 | Out-Null
Start-Service AltoAgent
Get-Service AltoAgent
